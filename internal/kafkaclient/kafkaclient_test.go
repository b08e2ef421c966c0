package kafkaclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

var common = &Common{BootstrapServers: "127.0.0.1:9092, 127.0.0.2:9093"}

// client builds a kgo client from opts and reads one option back.
func optValue(t *testing.T, opts []kgo.Opt, opt any) any {
	t.Helper()
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	defer cl.Close()
	return cl.OptValue(opt)
}

func TestCommonValidate(t *testing.T) {
	for _, tc := range []struct {
		in, err string
	}{
		{"a:1,b:2", ""},
		{" ", `kafka.bootstrap.servers: " " holds no host:port`},
		{"host", `kafka.bootstrap.servers: "host" is not host:port`},
		{"h:0", `kafka.bootstrap.servers: "h:0" has no valid port`},
		{"h:x", `"h:x" has no valid port`},
	} {
		err := (&Common{BootstrapServers: tc.in}).Validate()
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.err)
		}
	}
	if got := common.Seeds(); len(got) != 2 || got[1] != "127.0.0.2:9093" {
		t.Errorf("Seeds = %q", got)
	}
}

func TestProducerDefaults(t *testing.T) {
	opts, warn, err := ProducerOpts(common, nil)
	if err != nil || len(warn) != 0 {
		t.Fatalf("err %v, warnings %q", err, warn)
	}
	if v := optValue(t, opts, kgo.DisableIdempotentWrite); v != false {
		t.Errorf("idempotence disabled by default: %v", v)
	}
	if v := optValue(t, opts, kgo.RequiredAcks); v != kgo.AllISRAcks() {
		t.Errorf("acks = %v, want all", v)
	}
	if v := optValue(t, opts, kgo.RecordDeliveryTimeout); v != DefaultDeliveryTimeout {
		t.Errorf("delivery timeout = %v", v)
	}
	if v := optValue(t, opts, kgo.ProducerBatchMaxBytes); v != int32(1048576) {
		t.Errorf("max bytes = %v", v)
	}
	if v := optValue(t, opts, kgo.SeedBrokers); fmt.Sprint(v) != "[127.0.0.1:9092 127.0.0.2:9093]" {
		t.Errorf("seeds = %v", v)
	}
}

func TestProducerMapping(t *testing.T) {
	opts, warn, err := ProducerOpts(common, map[string]string{
		"acks": "1", "linger.ms": "25", "compression.type": "zstd", "max.request.size": "2000000",
		"request.timeout.ms": "7000", "retries": "3", "delivery.timeout.ms": "9000", "client.id": "web",
		"batch.size": "32768", "key.serializer": "x", "max.in.flight.requests.per.connection": "2",
		"no.such.property": "1",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opt  any
		want any
	}{
		{kgo.RequiredAcks, kgo.LeaderAck()},
		{kgo.DisableIdempotentWrite, true},
		{kgo.ProducerLinger, 25 * time.Millisecond},
		{kgo.ProducerBatchMaxBytes, int32(2000000)},
		{kgo.ProduceRequestTimeout, 7 * time.Second},
		{kgo.RecordRetries, int64(3)},
		{kgo.RecordDeliveryTimeout, 9 * time.Second},
		{kgo.MaxProduceRequestsInflightPerBroker, 2},
	} {
		if got := optValue(t, opts, c.opt); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%T: got %v, want %v", c.opt, got, c.want)
		}
	}
	if got := fmt.Sprint(optValue(t, opts, kgo.ClientID)); !strings.Contains(got, "web") {
		t.Errorf("client id %s", got)
	}
	if got := fmt.Sprint(optValue(t, opts, kgo.ProducerBatchCompression)); !strings.Contains(got, "4") { // CodecZstd
		t.Errorf("compression %s", got)
	}
	joined := strings.Join(warn, "\n")
	for _, w := range []string{"kafka.producer.batch.size is accepted and ignored", "kafka.producer.key.serializer is accepted and ignored",
		"kafka.producer.no.such.property is not a Kafka client property"} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings lack %q:\n%s", w, joined)
		}
	}
	if len(warn) != 3 {
		t.Errorf("want 3 warnings, got %q", warn)
	}

	// acks=0 and enable.idempotence=false disable idempotence too.
	for _, m := range []map[string]string{{"acks": "0"}, {"enable.idempotence": "false"}} {
		opts, _, err := ProducerOpts(common, m)
		if err != nil {
			t.Fatal(err)
		}
		if v := optValue(t, opts, kgo.DisableIdempotentWrite); v != true {
			t.Errorf("%v: idempotence still on", m)
		}
	}
}

func TestProducerErrorsNameProperty(t *testing.T) {
	for _, tc := range []struct {
		m    map[string]string
		want string
	}{
		{map[string]string{"acks": "2"}, `kafka.producer.acks: "2" is not one of all, -1, 1, 0`},
		{map[string]string{"acks": "1", "enable.idempotence": "true"}, `kafka.producer.acks: "1" must be all`},
		{map[string]string{"linger.ms": "soon"}, `kafka.producer.linger.ms: "soon" is not a whole number`},
		{map[string]string{"compression.type": "brotli"}, `kafka.producer.compression.type: "brotli" is not one of`},
		{map[string]string{"enable.idempotence": "yes"}, `kafka.producer.enable.idempotence: "yes" is not true or false`},
		{map[string]string{"security.protocol": "TLS"}, `kafka.producer.security.protocol: "TLS" is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL`},
		{map[string]string{"transactional.id": "t"}, `kafka.producer.transactional.id: "t" is not supported`},
		{map[string]string{"security.protocol": "SSL", "ssl.truststore.type": "PEMX"}, `kafka.producer.ssl.truststore.type: "PEMX" is not JKS, PKCS12 or PEM`},
		{map[string]string{"security.protocol": "SSL", "ssl.truststore.location": "/nonexistent/ts.jks"}, `kafka.producer.ssl.truststore.location: `},
		{map[string]string{"security.protocol": "SASL_PLAINTEXT"}, `kafka.producer.sasl.mechanism: must be set with SASL`},
		{map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN"}, `kafka.producer.sasl.jaas.config: must be set for sasl.mechanism PLAIN`},
		{map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "GSSAPI"}, `"GSSAPI" is not supported`},
	} {
		_, _, err := ProducerOpts(common, tc.m)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.m, err, tc.want)
		}
	}
}

func TestConsumerMapping(t *testing.T) {
	opts, warn, err := ConsumerOpts(common, map[string]string{
		"group.id": "g1", "fetch.max.bytes": "1000", "fetch.min.bytes": "10", "fetch.max.wait.ms": "200",
		"max.partition.fetch.bytes": "500", "session.timeout.ms": "12000", "heartbeat.interval.ms": "3000",
		"auto.offset.reset": "earliest", "isolation.level": "read_committed", "group.instance.id": "i1",
		"enable.auto.commit": "true", "max.poll.records": "42",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opt  any
		want any
	}{
		{kgo.ConsumerGroup, "g1"},
		{kgo.FetchMaxBytes, int32(1000)},
		{kgo.FetchMinBytes, int32(10)},
		{kgo.FetchMaxWait, 200 * time.Millisecond},
		{kgo.FetchMaxPartitionBytes, int32(500)},
		{kgo.SessionTimeout, 12 * time.Second},
		{kgo.HeartbeatInterval, 3 * time.Second},
		{kgo.DisableAutoCommit, true},
	} {
		if got := optValue(t, opts, c.opt); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%T: got %v, want %v", c.opt, got, c.want)
		}
	}
	if got := fmt.Sprint(optValue(t, opts, kgo.ConsumeResetOffset)); got != fmt.Sprint(kgo.NewOffset().AtStart()) {
		t.Errorf("reset offset %s", got)
	}
	if got := fmt.Sprint(optValue(t, opts, kgo.InstanceID)); !strings.Contains(got, "i1") {
		t.Errorf("instance id %s", got)
	}
	if len(warn) != 1 || !strings.Contains(warn[0], "kafka.consumer.enable.auto.commit=true is ignored") {
		t.Errorf("warnings %q", warn)
	}
	if n := MaxPollRecords(map[string]string{"max.poll.records": "42"}); n != 42 {
		t.Errorf("MaxPollRecords = %d", n)
	}
	if n := MaxPollRecords(nil); n != DefaultMaxPollRecords {
		t.Errorf("MaxPollRecords default = %d", n)
	}
	// Without group.id auto-commit is off too, and latest is the default.
	opts, _, err = ConsumerOpts(common, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(optValue(t, opts, kgo.ConsumeResetOffset)); got != fmt.Sprint(kgo.NewOffset().AtEnd()) {
		t.Errorf("default reset offset %s", got)
	}
	if _, _, err := ConsumerOpts(common, map[string]string{"auto.offset.reset": "smallest"}); err == nil ||
		!strings.Contains(err.Error(), `kafka.consumer.auto.offset.reset: "smallest" is not one of earliest, latest, none`) {
		t.Errorf("bad reset: %v", err)
	}
}

func TestParseJAAS(t *testing.T) {
	mod, opts, err := parseJAAS(`org.apache.kafka.common.security.scram.ScramLoginModule required username="al ice" password="p\"w;d" extra=plain;`)
	if err != nil {
		t.Fatal(err)
	}
	if mod != "org.apache.kafka.common.security.scram.ScramLoginModule" || opts["username"] != "al ice" || opts["password"] != `p"w;d` || opts["extra"] != "plain" {
		t.Errorf("got %q %q", mod, opts)
	}
	for _, bad := range []string{``, `Mod`, `Mod required username="x"`, `Mod required username="x;`, `Mod required ="x";`, `Mod required a="1"; B required;`} {
		if _, _, err := parseJAAS(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestSecretsNeverShown feeds passwords and JAAS texts through every path
// that can fail or warn and checks that no error or warning holds them.
func TestSecretsNeverShown(t *testing.T) {
	const pw = "Sup3rS3cretPW"
	cases := []map[string]string{
		// Unreadable stores with passwords.
		{"security.protocol": "SSL", "ssl.truststore.location": "/nonexistent", "ssl.truststore.password": pw},
		{"security.protocol": "SSL", "ssl.keystore.location": "/nonexistent", "ssl.keystore.password": pw, "ssl.key.password": pw},
		{"security.protocol": "SSL", "ssl.keystore.location": "../tlsconf/testdata/server.jks", "ssl.keystore.password": pw},
		{"security.protocol": "SSL", "ssl.truststore.location": "../tlsconf/testdata/trust.p12", "ssl.truststore.password": pw},
		// Malformed JAAS texts holding the password.
		{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.jaas.config": `Mod required username="u" password="` + pw + `"`},
		{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.jaas.config": `Mod required password="` + pw},
		{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.jaas.config": `Mod optional password=` + pw + `;`},
		{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.jaas.config": pw},
		{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.jaas.config": `Mod required ` + pw + `;`},
		{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.jaas.config": `Mod required username="u" ` + pw + `="x";`},
		// Secrets where they are ignored, and unknown keys holding them.
		{"ssl.truststore.password": pw, "sasl.jaas.config": pw, "my.password": pw, "x": pw},
		// A valid JAAS for another mechanism's module: a warning.
		{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512", "sasl.jaas.config": `a.PlainLoginModule required username="u" password="` + pw + `";`},
	}
	for i, m := range cases {
		for _, f := range []func(*Common, map[string]string) ([]kgo.Opt, []string, error){ProducerOpts, ConsumerOpts} {
			_, warn, err := f(common, m)
			text := strings.Join(warn, "\n")
			if err != nil {
				text += "\n" + err.Error()
			}
			if text == "" {
				t.Errorf("case %d: no error or warning at all", i)
			}
			if strings.Contains(text, pw) {
				t.Errorf("case %d: secret shown:\n%s", i, text)
			}
		}
	}
}

func TestSASLAndTLSOptions(t *testing.T) {
	opts, warn, err := ProducerOpts(common, map[string]string{
		"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-256",
		"sasl.jaas.config":        `org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p";`,
		"ssl.truststore.location": "../tlsconf/testdata/trust.jks", "ssl.truststore.password": "changeit",
	})
	if err != nil {
		t.Fatalf("%v (warnings %q)", err, warn)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if v := cl.OptValue(kgo.DialTLSConfig); v == nil {
		t.Error("no TLS config")
	}
	if v := fmt.Sprint(cl.OptValues(kgo.SASL)); v == "[]" {
		t.Error("no SASL mechanism")
	}
	// Flume's ssl.disableTLSHostnameVerification turns the host check off:
	// the chain-only verifier of tlsconf is used.
	opts, _, err = ProducerOpts(common, map[string]string{"security.protocol": "SSL", "ssl.disableTLSHostnameVerification": "true"})
	if err != nil {
		t.Fatal(err)
	}
	cl2, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	if c, _ := cl2.OptValue(kgo.DialTLSConfig).(*tls.Config); c == nil || !c.InsecureSkipVerify || c.VerifyPeerCertificate == nil {
		t.Errorf("host check not off: %+v", c)
	}
	if c, _ := cl.OptValue(kgo.DialTLSConfig).(*tls.Config); c == nil || c.InsecureSkipVerify || c.RootCAs == nil {
		t.Errorf("default TLS config does not verify the host against the trust store: %+v", c)
	}
	// Flume's global FLUME_SSL_* settings fill what is not set, and only
	// with SSL; the caller's map is left as it was.
	t.Setenv("FLUME_SSL_TRUSTSTORE_PATH", "/nonexistent/global.jks")
	m := map[string]string{"security.protocol": "SSL"}
	if _, _, err := ProducerOpts(common, m); err == nil || !strings.Contains(err.Error(), "global.jks") {
		t.Errorf("FLUME_SSL_TRUSTSTORE_PATH not used: %v", err)
	}
	if len(m) != 1 {
		t.Errorf("caller's map changed: %v", m)
	}
	m["ssl.truststore.location"] = "../tlsconf/testdata/trust.jks"
	m["ssl.truststore.password"] = "changeit"
	if _, _, err := ProducerOpts(common, m); err != nil {
		t.Errorf("the property must win over FLUME_SSL_TRUSTSTORE_PATH: %v", err)
	}
	if _, w, err := ProducerOpts(common, nil); err != nil || len(w) != 0 {
		t.Errorf("PLAINTEXT reads FLUME_SSL_*: %v %q", err, w)
	}
	// PLAINTEXT ignores ssl.* with a warning naming the key.
	_, warn, err = ProducerOpts(common, map[string]string{"ssl.truststore.location": "/x"})
	if err != nil || len(warn) != 1 || !strings.Contains(warn[0], "kafka.producer.ssl.truststore.location is ignored: security.protocol is PLAINTEXT") {
		t.Errorf("%v %q", err, warn)
	}
}

func TestRetryable(t *testing.T) {
	for _, e := range []error{kerr.MessageTooLarge, kerr.InvalidRecord, kerr.TopicAuthorizationFailed, kerr.InvalidTopicException,
		fmt.Errorf("no partitions available after attempting to refresh metadata 5 times, last err: %w", kerr.UnknownTopicOrPartition)} {
		if Retryable(e) || !Permanent(e) {
			t.Errorf("%v counted retryable", e)
		}
	}
	for _, e := range []error{kerr.NotLeaderForPartition, kerr.RequestTimedOut, kgo.ErrRecordTimeout, kgo.ErrRecordRetries,
		context.DeadlineExceeded, &net.OpError{Op: "dial", Err: errors.New("connection refused")}, kerr.NotEnoughReplicas, kerr.LeaderNotAvailable} {
		if !Retryable(e) || Permanent(e) {
			t.Errorf("%v counted permanent", e)
		}
	}
	if Retryable(nil) || Permanent(nil) {
		t.Error("nil classified")
	}
}

func TestPingUnreachable(t *testing.T) {
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = Ping(ctx, cl)
	if err == nil || !strings.Contains(err.Error(), `cannot reach kafka.bootstrap.servers "127.0.0.1:1"`) {
		t.Fatalf("got %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Ping used up its whole deadline on a refused connection")
	}
}

func TestFlumeEventRoundTrip(t *testing.T) {
	for _, e := range []*sluice.Event{
		{},
		{Body: []byte("hello")},
		{Headers: map[string]string{"a": "1", "": "", "ü": strings.Repeat("x", 300)}, Body: bytes.Repeat([]byte{0, 0xff}, 200)},
	} {
		b := EncodeFlumeEvent([]byte("prefix"), e)
		if string(b[:6]) != "prefix" {
			t.Fatal("dst not appended to")
		}
		got, err := DecodeFlumeEvent(b[6:])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Body, e.Body) || len(got.Headers) != len(e.Headers) {
			t.Fatalf("got %+v, want %+v", got, e)
		}
		for k, v := range e.Headers {
			if got.Headers[k] != v {
				t.Fatalf("header %q = %q, want %q", k, got.Headers[k], v)
			}
		}
	}
	// The exact bytes Flume writes for headers {k: v}, body "ab": map block
	// of 1 (02), "k" (02 6b), "v" (02 76), end (00), bytes "ab" (04 61 62).
	want := []byte{0x02, 0x02, 'k', 0x02, 'v', 0x00, 0x04, 'a', 'b'}
	if got := EncodeFlumeEvent(nil, &sluice.Event{Headers: map[string]string{"k": "v"}, Body: []byte("ab")}); !bytes.Equal(got, want) {
		t.Errorf("encoded % x, want % x", got, want)
	}
	// A negative block count with a byte size (Java's encoder may write
	// blocks that way) decodes too.
	if e, err := DecodeFlumeEvent([]byte{0x01, 0x0c, 0x02, 'k', 0x02, 'v', 0x00, 0x04, 'a', 'b'}); err != nil || e.Headers["k"] != "v" {
		t.Errorf("negative block: %v %v", e, err)
	}
	for _, bad := range [][]byte{nil, {0x02}, {0x00, 0x08, 'a'}, {0x00, 0x01}, append(want, 0), {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		if _, err := DecodeFlumeEvent(bad); err == nil {
			t.Errorf("% x decoded", bad)
		}
	}
}

func FuzzDecodeFlumeEvent(f *testing.F) {
	f.Add(EncodeFlumeEvent(nil, &sluice.Event{Headers: map[string]string{"host": "web", "timestamp": "1"}, Body: []byte("line")}))
	f.Add([]byte{0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeFlumeEvent(b)
		if err != nil {
			return
		}
		// What decodes encodes back to an event that decodes alike.
		again, err := DecodeFlumeEvent(EncodeFlumeEvent(nil, e))
		if err != nil || !bytes.Equal(again.Body, e.Body) || len(again.Headers) != len(e.Headers) {
			t.Fatalf("re-encoding %+v: %+v, %v", e, again, err)
		}
	})
}

// TestExplainSASLFailure: the broker's SASL refusal is named with the
// mechanism and the servers, never with the password.
func TestExplainSASLFailure(t *testing.T) {
	const pw = "TopSecretPw9"
	opts, _, err := ProducerOpts(&Common{BootstrapServers: "127.0.0.1:1"}, map[string]string{
		"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256",
		"sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="` + pw + `";`,
	})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := Explain(cl, fmt.Errorf("broker said: %w", kerr.SaslAuthenticationFailed)).Error()
	if !strings.Contains(got, `SASL authentication failed for mechanism SCRAM-SHA-256 at kafka.bootstrap.servers "127.0.0.1:1"`) || strings.Contains(got, pw) {
		t.Errorf("got %s", got)
	}
	got = Explain(cl, &kgo.ErrFirstReadEOF{}).Error()
	if !strings.Contains(got, "during SASL authentication for mechanism SCRAM-SHA-256") {
		t.Errorf("got %s", got)
	}
	if !AuthFailed(kerr.SaslAuthenticationFailed) || AuthFailed(kerr.MessageTooLarge) {
		t.Error("AuthFailed")
	}
}

func TestWarningErrors(t *testing.T) {
	_, warn, err := ProducerOpts(common, map[string]string{"batch.size": "1", "zzz": "secretvalue"})
	if err != nil {
		t.Fatal(err)
	}
	errs := WarningErrors(append(warn, "something general"))
	var pe *conf.PropError
	if len(errs) != 3 || !errors.As(errs[0], &pe) || pe.Key != "kafka.producer.batch.size" || !strings.HasPrefix(pe.Msg, "is accepted and ignored") {
		t.Fatalf("%v", errs)
	}
	if !errors.As(errs[1], &pe) || pe.Key != "kafka.producer.zzz" || strings.Contains(pe.Msg, "secretvalue") {
		t.Errorf("%v", errs[1])
	}
	if errors.As(errs[2], &pe) {
		t.Errorf("general warning became a PropError: %v", errs[2])
	}
}
