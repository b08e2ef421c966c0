package e2e

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluiceio/sluice/sluicetest/testca"
)

// secretsConf is an agent with every password-bearing property Sluice
// reads, each set to its own unique value, and every network sink aimed at
// a port where nothing listens (so connection errors are logged): seq ->
// replicating -> one memory channel per sink. The kafka source reads from
// the same dead broker; the kafka channel is its own pipe.
func secretsConf(dir string, pw map[string]string, ks, ts string, dead int, ports [5]int) string {
	jaas := func(p string) string {
		return `org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="` + p + `";`
	}
	kafkaTLS := func(prefix, tsPw, ksPw string) string {
		return fmt.Sprintf(`%[1]s.security.protocol = SASL_SSL
%[1]s.sasl.mechanism = PLAIN
%[1]s.ssl.truststore.location = %[2]s
%[1]s.ssl.truststore.type = PKCS12
%[1]s.ssl.truststore.password = %[3]s
%[1]s.ssl.keystore.location = %[4]s
%[1]s.ssl.keystore.type = PKCS12
%[1]s.ssl.keystore.password = %[5]s
`, prefix, ts, tsPw, ks, ksPw)
	}
	sinks := []string{"kavro", "kthrift", "khttp", "kkafka", "kes", "keskey"}
	var chans []string
	for i := range sinks {
		chans = append(chans, fmt.Sprintf("c%d", i))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `a1.sources = seq ravro rthrift rhttp rsyslog rmulti rkafka
a1.channels = %s ckafka cin
a1.sinks = %s kfromkafka
a1.configfilters = f1
a1.configfilters.f1.type = env

a1.sources.seq.type = seq
a1.sources.seq.totalEvents = 20
a1.sources.seq.channels = %s

`, strings.Join(chans, " "), strings.Join(sinks, " "), strings.Join(chans, " "))
	for i, s := range sinks {
		fmt.Fprintf(&b, "a1.channels.c%d.type = memory\na1.sinks.%s.channel = c%d\n", i, s, i)
	}
	deadAddr := fmt.Sprintf("127.0.0.1:%d", dead)
	fmt.Fprintf(&b, `
a1.channels.cin.type = memory
a1.sources.ravro.type = avro
a1.sources.ravro.bind = 127.0.0.1
a1.sources.ravro.port = %[1]d
a1.sources.ravro.ssl = true
a1.sources.ravro.keystore = %[2]s
a1.sources.ravro.keystore-type = PKCS12
a1.sources.ravro.keystore-password = ${f1['SLUICE_TEST_KS_PASSWORD']}
a1.sources.ravro.channels = cin
a1.sources.rthrift.type = thrift
a1.sources.rthrift.bind = 127.0.0.1
a1.sources.rthrift.port = %[3]d
a1.sources.rthrift.ssl = true
a1.sources.rthrift.keystore = %[2]s
a1.sources.rthrift.keystore-type = PKCS12
a1.sources.rthrift.keystore-password = %[4]s
a1.sources.rthrift.channels = cin
a1.sources.rhttp.type = http
a1.sources.rhttp.bind = 127.0.0.1
a1.sources.rhttp.port = %[5]d
a1.sources.rhttp.ssl = true
a1.sources.rhttp.keystore = %[2]s
a1.sources.rhttp.keystore-type = PKCS12
a1.sources.rhttp.keystore-password = %[4]s
a1.sources.rhttp.channels = cin
a1.sources.rsyslog.type = syslogtcp
a1.sources.rsyslog.host = 127.0.0.1
a1.sources.rsyslog.port = %[6]d
a1.sources.rsyslog.ssl = true
a1.sources.rsyslog.keystore = %[2]s
a1.sources.rsyslog.keystore-type = PKCS12
a1.sources.rsyslog.keystore-password = %[4]s
a1.sources.rsyslog.channels = cin
a1.sources.rmulti.type = multiport_syslogtcp
a1.sources.rmulti.host = 127.0.0.1
a1.sources.rmulti.ports = %[7]d
a1.sources.rmulti.ssl = true
a1.sources.rmulti.keystore = %[2]s
a1.sources.rmulti.keystore-type = PKCS12
a1.sources.rmulti.keystore-password = %[4]s
a1.sources.rmulti.channels = cin
`, ports[0], ks, ports[1], pw["keystore"], ports[2], ports[3], ports[4])
	fmt.Fprintf(&b, `
a1.sources.rkafka.type = org.apache.flume.source.kafka.KafkaSource
a1.sources.rkafka.kafka.bootstrap.servers = %[1]s
a1.sources.rkafka.kafka.topics = t1
a1.sources.rkafka.kafka.consumer.sasl.jaas.config = %[2]s
%[3]sa1.sources.rkafka.channels = cin

a1.channels.ckafka.type = org.apache.flume.channel.kafka.KafkaChannel
a1.channels.ckafka.kafka.bootstrap.servers = %[1]s
a1.channels.ckafka.kafka.topic = t2
a1.channels.ckafka.kafka.producer.sasl.jaas.config = %[4]s
a1.channels.ckafka.kafka.consumer.sasl.jaas.config = %[4]s
%[5]s%[6]sa1.sinks.kfromkafka.type = null
a1.sinks.kfromkafka.channel = ckafka

a1.sinks.kavro.type = avro
a1.sinks.kavro.hostname = 127.0.0.1
a1.sinks.kavro.port = %[7]d
a1.sinks.kavro.ssl = true
a1.sinks.kavro.truststore = %[8]s
a1.sinks.kavro.truststore-type = PKCS12
a1.sinks.kavro.truststore-password = %[9]s
a1.sinks.kthrift.type = thrift
a1.sinks.kthrift.hostname = 127.0.0.1
a1.sinks.kthrift.port = %[7]d
a1.sinks.kthrift.ssl = true
a1.sinks.kthrift.truststore = %[8]s
a1.sinks.kthrift.truststore-type = PKCS12
a1.sinks.kthrift.truststore-password = %[9]s
a1.sinks.khttp.type = http
a1.sinks.khttp.endpoint = https://bob:%[10]s@%[1]s/in?token=%[11]s
a1.sinks.khttp.truststore = %[8]s
a1.sinks.khttp.truststore-type = PKCS12
a1.sinks.khttp.truststore-password = %[9]s
a1.sinks.kkafka.type = org.apache.flume.sink.kafka.KafkaSink
a1.sinks.kkafka.kafka.bootstrap.servers = %[1]s
a1.sinks.kkafka.kafka.topic = t3
a1.sinks.kkafka.kafka.producer.sasl.jaas.config = %[12]s
a1.sinks.kkafka.kafka.producer.ssl.key.password = %[13]s
%[14]sa1.sinks.kes.type = elasticsearch
a1.sinks.kes.hostNames = https://%[1]s
a1.sinks.kes.username = elastic
a1.sinks.kes.password = %[15]s
a1.sinks.keskey.type = elasticsearch
a1.sinks.keskey.hostNames = https://carol:%[16]s@%[1]s
a1.sinks.keskey.apiKey = ${sys:sluice.test.apikey}
`, deadAddr, jaas(pw["kafka-source-sasl"]), kafkaTLS("a1.sources.rkafka.kafka.consumer", pw["kafka-truststore"], pw["kafka-keystore"]),
		jaas(pw["kafka-channel-sasl"]), kafkaTLS("a1.channels.ckafka.kafka.producer", pw["kafka-truststore"], pw["kafka-keystore"]),
		kafkaTLS("a1.channels.ckafka.kafka.consumer", pw["kafka-truststore"], pw["kafka-keystore"]),
		dead, ts, pw["truststore"], pw["http-url-password"], pw["http-url-token"],
		jaas(pw["kafka-sink-sasl"]), pw["kafka-key"], kafkaTLS("a1.sinks.kkafka.kafka.producer", pw["kafka-truststore"], pw["kafka-keystore"]),
		pw["es-password"], pw["es-url-password"])
	// A misspelt password property: reported as unknown, its value never shown.
	fmt.Fprintf(&b, "a1.sinks.kavro.truststore-pasword = %s\n", pw["misspelt"])
	return b.String()
}

// No password set in a configuration, in the environment or for the
// monitoring port appears in `sluice check`'s output, in what the agent
// logs at DEBUG while every sink fails to connect, or in /metrics and
// /metrics/prometheus. Stores are made at test time with their own
// passwords so a hit cannot be a coincidence.
func TestSecretsNeverShown(t *testing.T) {
	dir := t.TempDir()
	pw := map[string]string{}
	for _, k := range []string{"keystore", "env-keystore", "truststore", "kafka-truststore", "kafka-keystore", "kafka-key",
		"kafka-source-sasl", "kafka-channel-sasl", "kafka-sink-sasl", "http-url-password", "http-url-token",
		"es-password", "es-url-password", "es-apikey", "misspelt", "monitoring"} {
		pw[k] = "Pw" + strings.ReplaceAll(k, "-", "") + "X7q"
	}
	ca := testca.New(t, "secrets CA")
	srv := ca.Server(t, "localhost")
	// One store for the env-filtered password, one for the literal one.
	ksEnv := srv.KeyStoreP12(t, dir, "server-env.p12", pw["env-keystore"])
	ks := srv.KeyStoreP12(t, dir, "server.p12", pw["keystore"])
	ts := ca.TrustStoreP12(t, dir, "trust.p12", pw["truststore"])
	kts := ca.TrustStoreP12(t, dir, "ktrust.p12", pw["kafka-truststore"])
	kks := srv.KeyStoreP12(t, dir, "kclient.p12", pw["kafka-keystore"])
	_ = kts
	dead := freePort(t)
	var ports [5]int
	for i := range ports {
		ports[i] = freePort(t)
	}
	body := secretsConf(dir, pw, ks, ts, dead, ports)
	// The avro source's password comes through the env config filter.
	body = strings.Replace(body, "a1.sources.ravro.keystore = "+ks, "a1.sources.ravro.keystore = "+ksEnv, 1)
	body = strings.ReplaceAll(body, "ssl.truststore.location = "+ts, "ssl.truststore.location = "+kts)
	body = strings.ReplaceAll(body, "ssl.keystore.location = "+ks, "ssl.keystore.location = "+kks)
	conf := writeConf(t, dir, body)
	pwFile := filepath.Join(dir, "monitoring.pw")
	if err := os.WriteFile(pwFile, []byte(pw["monitoring"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// What may be printed: everything but the password values.
	assertClean := func(what, text string) {
		t.Helper()
		for k, v := range pw {
			if strings.Contains(text, v) {
				i := strings.Index(text, v)
				lo := max(0, strings.LastIndexByte(text[:i], '\n'))
				t.Errorf("%s shows the %s password %q: %s", what, k, v, strings.TrimSpace(text[lo:min(len(text), i+len(v)+80)]))
			}
		}
		// Base64 of user:password (an Authorization header) counts too.
		for _, up := range []string{"elastic:" + pw["es-password"], "bob:" + pw["http-url-password"], "carol:" + pw["es-url-password"], "admin:" + pw["monitoring"]} {
			if strings.Contains(text, base64.StdEncoding.EncodeToString([]byte(up))) {
				t.Errorf("%s shows basic credentials %q base64-encoded", what, up)
			}
		}
	}
	env := append(os.Environ(), "SLUICE_TEST_KS_PASSWORD="+pw["env-keystore"])

	// sluice check, with the monitoring options the agent gets.
	mport := freePort(t)
	monArgs := []string{"-Dflume.monitoring.type=http", fmt.Sprintf("-Dflume.monitoring.port=%d", mport),
		"-Dsluice.monitoring.auth.user=admin", "-Dsluice.monitoring.auth.passwordFile=" + pwFile, "-Dflume.root.logger=DEBUG,console",
		"-Dsluice.test.apikey=" + pw["es-apikey"]} // the apiKey through ${sys:...}
	check := runWith(t, dir, env, append([]string{"check", "-n", "a1", "-f", conf}, monArgs...)...)
	_ = check.wait(60 * time.Second)
	out := check.out.String()
	if !strings.Contains(out, "truststore-pasword") {
		t.Errorf("sluice check did not report the misspelt property:\n%s", out)
	}
	assertClean("sluice check", out)

	if !strings.Contains(out, "put credentials in username/password") {
		t.Errorf("sluice check did not refuse the credentials in keskey's URL:\n%s", out)
	}

	// The agent, at DEBUG, every sink failing (the URL credentials that
	// check refuses taken out).
	replaceConf(t, conf, strings.Replace(body, "carol:"+pw["es-url-password"]+"@", "", 1))
	p := runWith(t, dir, env, append([]string{"agent", "-n", "a1", "-f", conf}, monArgs...)...)
	p.waitLog("agent started", 30*time.Second)
	// Every failing sink and the kafka pieces have logged their failure.
	for _, who := range []string{"kavro", "kthrift", "khttp", "kkafka", "kes", "keskey"} {
		p.waitLogLine(60*time.Second, who, "connect")
	}
	// A TLS client to each TLS source (trusting nothing: handshake fails
	// and is logged), then a request with wrong monitoring credentials.
	for _, port := range ports {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
		if err == nil {
			_, _ = c.Write([]byte("not a TLS hello\n"))
			_, _ = io.ReadAll(io.LimitReader(c, 1024))
			c.Close()
		}
	}
	get := func(path, user, pass string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", mport, path), nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/metrics", "admin", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("/metrics with a wrong password: %d", code)
	}
	for _, path := range []string{"/metrics", "/metrics/prometheus", "/health"} {
		code, body := get(path, "admin", pw["monitoring"])
		if code != http.StatusOK {
			t.Errorf("%s: %d %s", path, code, body)
		}
		assertClean(path, body)
	}
	// The monitoring port is on loopback only: this host's other addresses
	// are refused.
	if ip := nonLoopbackIP(); ip != nil {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(ip.String(), fmt.Sprint(mport)), 5*time.Second)
		if err == nil {
			c.Close()
			t.Errorf("the monitoring port answers on %s", ip)
		}
	} else {
		t.Log("no non-loopback address on this host: the loopback-only check is skipped")
	}
	p.waitLog(fmt.Sprintf("127.0.0.1:%d", mport), 10*time.Second)
	// A reload that changes passwords (the elasticsearch sink's, a Kafka
	// JAAS entry) logs what changed without the values.
	pw["es-password-2"], pw["kafka-sink-sasl-2"] = "Pwespassword2X7q", "Pwkafkasinksasl2X7q"
	agentBody := strings.Replace(body, "carol:"+pw["es-url-password"]+"@", "", 1)
	agentBody = strings.Replace(agentBody, "password = "+pw["es-password"], "password = "+pw["es-password-2"], 1)
	agentBody = strings.Replace(agentBody, `password="`+pw["kafka-sink-sasl"]+`"`, `password="`+pw["kafka-sink-sasl-2"]+`"`, 1)
	replaceConf(t, conf, agentBody)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitLog("msg=reloaded", 60*time.Second)
	if err := p.stop(); err != nil {
		t.Logf("agent exit: %v", err)
	}
	assertClean("the agent's output", p.out.String())
	// Wrong passwords: the errors that refuse the stores do not show them.
	wrong := map[string]string{"avro": "WrongAvroPwX7q", "kafka": "WrongKafkaPwX7q"}
	for k, v := range wrong {
		pw["wrong-"+k] = v
	}
	bad := writeConf(t, t.TempDir(), fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.channels.c1.type = memory
a1.sources.r1.type = avro
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = %d
a1.sources.r1.ssl = true
a1.sources.r1.keystore = %s
a1.sources.r1.keystore-type = PKCS12
a1.sources.r1.keystore-password = %s
a1.sources.r1.channels = c1
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
`, ports[0], ks, wrong["avro"]))
	q := runWith(t, dir, env, "agent", "-n", "a1", "-f", bad, "-Dflume.root.logger=DEBUG,console")
	if err := q.wait(60 * time.Second); err == nil || !strings.Contains(q.out.String(), "decryption password incorrect") {
		t.Errorf("an agent with a wrong key store password: exit %v:\n%s", err, q.out.String())
	}
	assertClean("the agent with a wrong key store password", q.out.String())
	bad = writeConf(t, t.TempDir(), fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.channels.c1.type = memory
a1.sources.r1.type = seq
a1.sources.r1.channels = c1
a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink
a1.sinks.k1.kafka.bootstrap.servers = 127.0.0.1:%d
a1.sinks.k1.kafka.producer.security.protocol = SSL
a1.sinks.k1.kafka.producer.ssl.keystore.location = %s
a1.sinks.k1.kafka.producer.ssl.keystore.type = PKCS12
a1.sinks.k1.kafka.producer.ssl.keystore.password = %s
a1.sinks.k1.channel = c1
`, dead, kks, wrong["kafka"]))
	for _, cmd := range []string{"check", "agent"} {
		q := runWith(t, dir, env, cmd, "-n", "a1", "-f", bad, "-Dflume.root.logger=DEBUG,console")
		if err := q.wait(60 * time.Second); err == nil {
			t.Errorf("sluice %s with wrong store passwords exited 0:\n%s", cmd, q.out.String())
		}
		if !strings.Contains(q.out.String(), "ssl.keystore.location") {
			t.Errorf("sluice %s did not report the kafka key store:\n%s", cmd, q.out.String())
		}
		assertClean("sluice "+cmd+" with wrong passwords", q.out.String())
	}

	// Nothing the agent wrote under dir either (the stores and the
	// password file aside).
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == pwFile || path == conf || strings.HasSuffix(path, ".p12") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err == nil {
			assertClean(path, string(b))
		}
		return nil
	})
}

// waitLogLine waits until one line of the output holds every part.
func (p *proc) waitLogLine(timeout time.Duration, parts ...string) {
	p.t.Helper()
	p.waitOut(fmt.Sprintf("a line with %q", parts), timeout, func(out string) bool {
		for _, line := range strings.Split(out, "\n") {
			ok := true
			for _, s := range parts {
				ok = ok && strings.Contains(line, s)
			}
			if ok {
				return true
			}
		}
		return false
	})
}

// nonLoopbackIP is one of this host's addresses other than loopback, or nil.
func nonLoopbackIP() net.IP {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP
		}
	}
	return nil
}

// tlsPipesConf: seq events go out through the avro, thrift and http sinks,
// each with TLS and a trust store holding only the test CA, into the
// avro, thrift and http sources of the same agent, whose key stores hold a
// certificate that CA signed; the syslog TCP sources serve TLS with it too.
// Everything received lands in out, headed by the source it came through
// (via=...). kbad is an avro sink trusting another CA only.
func tlsPipesConf(out, ks, ksPw, ts, tsPw, otherTS string, n int, pA, pT, pH, pS, pM int) string {
	return fmt.Sprintf(`a1.sources = seq ravro rthrift rhttp rsyslog rmulti
a1.channels = ca ct ch cbad cout
a1.sinks = kavro kthrift khttp kbad kout

a1.sources.seq.type = seq
a1.sources.seq.totalEvents = %[7]d
a1.sources.seq.batchSize = 10
a1.sources.seq.channels = ca ct ch cbad
a1.channels.ca.type = memory
a1.channels.ct.type = memory
a1.channels.ch.type = memory
a1.channels.cbad.type = memory
a1.channels.cbad.capacity = 10000
a1.channels.cout.type = memory
a1.channels.cout.capacity = 10000

a1.sinks.kavro.type = avro
a1.sinks.kavro.channel = ca
a1.sinks.kavro.hostname = localhost
a1.sinks.kavro.port = %[8]d
a1.sinks.kavro.ssl = true
a1.sinks.kavro.truststore = %[4]s
a1.sinks.kavro.truststore-type = PKCS12
a1.sinks.kavro.truststore-password = %[5]s
a1.sinks.kbad.type = avro
a1.sinks.kbad.channel = cbad
a1.sinks.kbad.hostname = localhost
a1.sinks.kbad.port = %[8]d
a1.sinks.kbad.ssl = true
a1.sinks.kbad.truststore = %[6]s
a1.sinks.kbad.truststore-type = PKCS12
a1.sinks.kbad.truststore-password = %[5]s
a1.sinks.kthrift.type = thrift
a1.sinks.kthrift.channel = ct
a1.sinks.kthrift.hostname = localhost
a1.sinks.kthrift.port = %[9]d
a1.sinks.kthrift.ssl = true
a1.sinks.kthrift.truststore = %[4]s
a1.sinks.kthrift.truststore-type = PKCS12
a1.sinks.kthrift.truststore-password = %[5]s
a1.sinks.khttp.type = http
a1.sinks.khttp.channel = ch
a1.sinks.khttp.endpoint = https://localhost:%[10]d/
a1.sinks.khttp.batchFormat = json
a1.sinks.khttp.rollback.2XX = false
a1.sinks.khttp.backoff.2XX = false
a1.sinks.khttp.truststore = %[4]s
a1.sinks.khttp.truststore-type = PKCS12
a1.sinks.khttp.truststore-password = %[5]s

a1.sources.ravro.type = avro
a1.sources.ravro.bind = 127.0.0.1
a1.sources.ravro.port = %[8]d
a1.sources.rthrift.type = thrift
a1.sources.rthrift.bind = 127.0.0.1
a1.sources.rthrift.port = %[9]d
a1.sources.rhttp.type = http
a1.sources.rhttp.bind = 127.0.0.1
a1.sources.rhttp.port = %[10]d
a1.sources.rsyslog.type = syslogtcp
a1.sources.rsyslog.host = 127.0.0.1
a1.sources.rsyslog.port = %[11]d
a1.sources.rmulti.type = multiport_syslogtcp
a1.sources.rmulti.host = 127.0.0.1
a1.sources.rmulti.ports = %[12]d
%[13]s
a1.sinks.kout.type = file_roll
a1.sinks.kout.channel = cout
a1.sinks.kout.sink.directory = %[1]s
a1.sinks.kout.sink.rollInterval = 0
a1.sinks.kout.sink.serializer = header_and_text
`, out, ks, ksPw, ts, tsPw, otherTS, n, pA, pT, pH, pS, pM, func() string {
		var b strings.Builder
		for _, r := range []string{"ravro", "rthrift", "rhttp", "rsyslog", "rmulti"} {
			fmt.Fprintf(&b, `a1.sources.%[1]s.channels = cout
a1.sources.%[1]s.ssl = true
a1.sources.%[1]s.keystore = %[2]s
a1.sources.%[1]s.keystore-type = PKCS12
a1.sources.%[1]s.keystore-password = %[3]s
a1.sources.%[1]s.interceptors = via
a1.sources.%[1]s.interceptors.via.type = static
a1.sources.%[1]s.interceptors.via.key = via
a1.sources.%[1]s.interceptors.via.value = %[1]s
`, r, ks, ksPw)
		}
		return b.String()
	}())
}

// TLS on every network source and sink of the real binary, and on the
// monitoring port, with stores made at test time: a CA, a server
// certificate it signed (PKCS12 key store; PEM files for the monitoring
// port) and a trust store holding only the CA. The avro, thrift and http
// sinks deliver every event over TLS to the avro, thrift and http
// sources; syslogtcp and multiport_syslogtcp take a message over TLS; an
// avro sink trusting another CA refuses the server and keeps its events;
// sluice avro-client connects over TLS too.
func TestTLSWithATestTimeCA(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	ca := testca.New(t, "e2e CA")
	srv := ca.Server(t, "localhost")
	ks := srv.KeyStoreP12(t, dir, "server.p12", "ks-pw")
	ts := ca.TrustStoreP12(t, dir, "trust.p12", "ts-pw")
	otherTS := testca.New(t, "other CA").TrustStoreP12(t, dir, "other.p12", "ts-pw")
	pemFile := srv.PEM(t, dir, "server.pem")
	const n = 500
	pA, pT, pH, pS, pM, mport := freePort(t), freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	conf := writeConf(t, dir, tlsPipesConf(out, ks, "ks-pw", ts, "ts-pw", otherTS, n, pA, pT, pH, pS, pM))
	p := startAgent(t, dir, conf, "-Dflume.monitoring.type=http", fmt.Sprintf("-Dflume.monitoring.port=%d", mport),
		"-Dsluice.monitoring.tls.certFile="+pemFile, "-Dsluice.monitoring.tls.keyFile="+pemFile)

	tcfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
	for i, port := range []int{pS, pM} {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", port), tcfg)
		if err != nil {
			t.Fatalf("TLS to the syslog source on %d: %v", port, err)
		}
		fmt.Fprintf(c, "<13>1 - h app - - over tls %d\n", i)
		c.Close()
	}
	want := map[string]int{"via=ravro": n, "via=rthrift": n, "via=rhttp": n, "via=rsyslog": 1, "via=rmulti": 1}
	deadline := time.Now().Add(90 * time.Second)
	for {
		got := map[string]int{}
		for _, line := range readDirLines(t, out) {
			for k := range want {
				if strings.Contains(line, k) {
					got[k]++
				}
			}
		}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %v, want %v", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// sluice avro-client with -P: ssl and a trust store of the CA deliver;
	// a trust store of another CA is refused (non-zero exit).
	in := filepath.Join(dir, "cli.txt")
	if err := os.WriteFile(in, []byte("cli over tls 1\ncli over tls 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, trust := range []string{ts, otherTS} {
		props := filepath.Join(dir, "rpc.properties")
		if err := os.WriteFile(props, []byte(fmt.Sprintf("hosts = h1\nhosts.h1 = localhost:%d\nssl = true\n"+
			"truststore = %s\ntruststore-type = PKCS12\ntruststore-password = ts-pw\n", pA, trust)), 0o644); err != nil {
			t.Fatal(err)
		}
		c := run(t, dir, "avro-client", "-P", props, "-F", in)
		err := c.wait(60 * time.Second)
		if trust == ts && err != nil {
			t.Fatalf("avro-client over TLS: %v\n%s", err, c.out.String())
		}
		if trust == otherTS && (err == nil || !strings.Contains(c.out.String(), "not trusted")) {
			t.Fatalf("avro-client trusting another CA: %v\n%s", err, c.out.String())
		}
	}
	deadline = time.Now().Add(30 * time.Second)
	for n := 0; n != 2; {
		n = 0
		for _, line := range readDirLines(t, out) {
			if strings.Contains(line, "via=ravro") && strings.Contains(line, "cli over tls") {
				n++
			}
		}
		if n != 2 && time.Now().After(deadline) {
			t.Fatalf("%d of the avro-client's 2 lines arrived", n)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The monitoring port serves TLS with the CA's certificate; plain HTTP
	// gets no metrics.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tcfg}, Timeout: 10 * time.Second}
	resp, err := hc.Get(fmt.Sprintf("https://localhost:%d/metrics", mport))
	if err != nil {
		t.Fatalf("https /metrics: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var m map[string]map[string]string
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("/metrics %q: %v", body, err)
	}
	// The sink trusting another CA fails for that reason (its first
	// failure may have been the sources not listening yet, and repeats
	// are not logged again at once: /health has its latest error).
	badTrust := regexp.MustCompile(`"lastError": "sink kbad:[^"]*server certificate not trusted`)
	deadline = time.Now().Add(60 * time.Second)
	for {
		resp, err := hc.Get(fmt.Sprintf("https://localhost:%d/health", mport))
		if err != nil {
			t.Fatalf("https /health: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if badTrust.Match(b) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health shows no 'not trusted' error for kbad:\n%s", b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := m["CHANNEL.cbad"]["ChannelSize"]; got != fmt.Sprint(n) {
		t.Errorf("the refusing sink's channel holds %s events, want all %d", got, n)
	}
	if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", mport)); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "ChannelSize") {
			t.Errorf("plain HTTP to the TLS monitoring port answered metrics")
		}
	}
	if err := p.stop(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

// Flume's global SSL system properties: an avro source and an avro sink
// with ssl = true and no store properties take the key store and the trust
// store from -Djavax.net.ssl.*, which win over the FLUME_SSL_* variables
// (here set to files that do not exist), and deliver over TLS.
func TestJavaSSLSystemProperties(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	ca := testca.New(t, "javax CA")
	ks := ca.Server(t, "localhost").KeyStoreP12(t, dir, "server.p12", "Pw-ks-31")
	ts := ca.TrustStoreP12(t, dir, "trust.p12", "Pw-ts-31")
	port := freePort(t)
	conf := writeConf(t, dir, fmt.Sprintf(`a1.sources = seq r1
a1.channels = c1 c2
a1.sinks = k1 k2
a1.sources.seq.type = seq
a1.sources.seq.totalEvents = 100
a1.sources.seq.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = avro
a1.sinks.k1.channel = c1
a1.sinks.k1.hostname = localhost
a1.sinks.k1.port = %[1]d
a1.sinks.k1.ssl = true
a1.sources.r1.type = avro
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = %[1]d
a1.sources.r1.ssl = true
a1.sources.r1.channels = c2
a1.channels.c2.type = memory
a1.sinks.k2.type = file_roll
a1.sinks.k2.channel = c2
a1.sinks.k2.sink.directory = %[2]s
a1.sinks.k2.sink.rollInterval = 0
`, port, out))
	env := append(os.Environ(), "FLUME_SSL_KEYSTORE_PATH="+filepath.Join(dir, "missing.jks"),
		"FLUME_SSL_TRUSTSTORE_PATH="+filepath.Join(dir, "missing.jks"))
	args := []string{"agent", "-n", "a1", "-f", conf,
		"-Djavax.net.ssl.keyStore=" + ks, "-Djavax.net.ssl.keyStorePassword=Pw-ks-31", "-Djavax.net.ssl.keyStoreType=PKCS12",
		"-Djavax.net.ssl.trustStore=" + ts, "-Djavax.net.ssl.trustStorePassword=Pw-ts-31", "-Djavax.net.ssl.trustStoreType=PKCS12"}
	p := runWith(t, dir, env, args...)
	p.waitLog("agent started", 30*time.Second)
	if got := waitLines(t, out, 100, 60*time.Second); len(got) != 100 {
		t.Fatalf("%d lines arrived", len(got))
	}
	p.waitLog("-Djavax.net.ssl.trustStorePassword applies as FLUME_SSL_TRUSTSTORE_PASSWORD", 5*time.Second)
	if err := p.stop(); err != nil {
		t.Errorf("exit: %v", err)
	}
	for _, secret := range []string{"Pw-ks-31", "Pw-ts-31"} {
		if strings.Contains(p.out.String(), secret) {
			t.Errorf("the output shows %q", secret)
		}
	}
}
