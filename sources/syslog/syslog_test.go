package syslog

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/tlsconf"
	"github.com/sluiceio/sluice/sluicetest"
)

const wait = 20 * time.Second

// build makes a source of type name through its spec, from properties as a
// configuration file gives them, and starts it.
func build(t *testing.T, name string, proc *sluicetest.Processor, props map[string]string) sluice.Source {
	t.Helper()
	spec, ok := sluice.Lookup(sluice.KindSource, name)
	if !ok {
		t.Fatalf("%s not registered", name)
	}
	cfg := spec.Config()
	var ps []conf.Prop
	for k, v := range props {
		ps = append(ps, conf.Prop{Key: k, FullKey: "a1.sources.r1." + k, Value: v})
	}
	for _, e := range conf.Decode(cfg, ps) {
		t.Fatalf("config: %v", e)
	}
	v, err := spec.New(sluicetest.SourceEnv("r1", proc), cfg)
	if err != nil {
		t.Fatal(err)
	}
	src := v.(sluice.Source)
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := src.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		if err := src.Stop(ctx); err != nil {
			t.Errorf("second stop: %v", err)
		}
	})
	return src
}

func events(t *testing.T, proc *sluicetest.Processor, n int) []*sluice.Event {
	t.Helper()
	ev, err := proc.WaitFor(n, wait)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != n {
		t.Fatalf("got %d events, want %d", len(ev), n)
	}
	return ev
}

type want struct {
	headers map[string]string // each must be present with this value ("" = absent)
	body    string
}

func check(t *testing.T, ev []*sluice.Event, wants []want) {
	t.Helper()
	for i, w := range wants {
		for k, v := range w.headers {
			got, ok := ev[i].Headers[k]
			if v == "" && ok || v != "" && got != v {
				t.Errorf("event %d (%q): header %s = %q, want %q; all: %v", i, ev[i].Body, k, got, v, ev[i].Headers)
			}
		}
		if string(ev[i].Body) != w.body {
			t.Errorf("event %d: body %q, want %q", i, ev[i].Body, w.body)
		}
	}
}

// One syslogtcp connection carrying newline-framed and octet-counted
// messages of both RFCs, a bad one, one over eventSize and a last one
// without a newline: every byte arrives as an event with Flume's headers.
func TestTCPFramingAndHeaders(t *testing.T) {
	proc := sluicetest.NewProcessor()
	src := build(t, "org.apache.flume.source.SyslogTcpSource", proc, map[string]string{
		"host": "127.0.0.1", "port": "0", "eventSize": "50", "clientIPHeader": "ip", "keepFields": "hostname"})
	addr := src.(*TCPSource).Addrs()[0].String()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	m5424 := "<34>1 2003-10-11T22:14:15.003Z host1 su - - x"
	stream := m5424 + "\n" +
		"<13>Oct 11 22:14:15 host2 app: y\r\n" +
		strconv.Itoa(len(m5424)) + " " + m5424 +
		"no priority here\n" +
		"<13>1 - host3 app - - " + strings.Repeat("z", 40) + "\n" +
		"<14>1 - host4 last"
	if _, err := c.Write([]byte(stream)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	ev := events(t, proc, 7)
	check(t, ev, []want{
		{map[string]string{"Facility": "4", "Severity": "2", "priority": "34", "version": "1", "timestamp": "1065910455003", "host": "host1", "ip": "127.0.0.1", "flume.syslog.status": ""}, "host1 su - - x"},
		{map[string]string{"Facility": "1", "Severity": "5", "host": "host2", "version": ""}, "host2 app: y"},
		{map[string]string{"host": "host1", "timestamp": "1065910455003"}, "host1 su - - x"},
		{map[string]string{"Facility": "0", "Severity": "0", "flume.syslog.status": "Invalid", "ip": "127.0.0.1"}, "no priority here"},
		{map[string]string{"Facility": "1", "Severity": "5", "flume.syslog.status": "Incomplete", "host": "host3"}, "host3 app - - " + strings.Repeat("z", 28)},
		{map[string]string{"flume.syslog.status": "Invalid"}, "zzzzzzzzzzzz"},
		{map[string]string{"host": "host4", "flume.syslog.status": ""}, "host4 last"},
	})
	cnt := proc.Counters()
	if r, a := cnt.EventReceived.Load(), cnt.EventAccepted.Load(); r != 7 || a != 7 {
		t.Errorf("EventReceived %d, EventAccepted %d, want 7", r, a)
	}
}

// While the channels refuse, syslogtcp stops reading and retries; when
// they take events again every message arrives once, in order.
func TestTCPBackPressure(t *testing.T) {
	proc := sluicetest.NewProcessor()
	proc.SetFail(fmt.Errorf("test: %w", sluice.ErrChannelFull))
	src := build(t, "syslogtcp", proc, map[string]string{"host": "127.0.0.1", "port": "0", "batchSize": "7"})
	c, err := net.Dial("tcp", src.(*TCPSource).Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, "<13>1 - h app - - msg %d\n", i)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for proc.Counters().ChannelWriteFail.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the channel was never tried twice")
		}
		time.Sleep(10 * time.Millisecond)
	}
	proc.SetFail(nil)
	ev := events(t, proc, 200)
	for i, e := range ev {
		if want := fmt.Sprintf("app - - msg %d", i); string(e.Body) != want {
			t.Fatalf("event %d = %q, want %q", i, e.Body, want)
		}
	}
}

// multiport_syslogtcp: every port is served, the port header is set, each
// port has its character set, and a message not valid in it is kept as
// Invalid and counted.
func TestMultiportPortsAndCharsets(t *testing.T) {
	ports := []int{freeTCP(t), freeTCP(t)}
	proc := sluicetest.NewProcessor()
	build(t, "org.apache.flume.source.MultiportSyslogTCPSource", proc, map[string]string{
		"host": "127.0.0.1", "ports": fmt.Sprintf("%d %d", ports[0], ports[1]), "portHeader": "port",
		"charset.port." + strconv.Itoa(ports[1]): "ISO-8859-1", "numProcessors": "4", "readBufferSize": "2048"})
	latin := "<13>1 2003-10-11T22:14:15Z h app - - caf\xe9"
	for i, p := range ports {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte(latin + "\n")); err != nil {
			t.Fatal(err)
		}
		c.Close()
		events(t, proc, i+1) // in port order
	}
	ev := events(t, proc, 2)
	check(t, ev, []want{
		{map[string]string{"flume.syslog.status": "Invalid", "port": strconv.Itoa(ports[0]), "Facility": ""}, latin},
		{map[string]string{"Priority": "13", "Version": "1", "Facility": "1", "Severity": "5", "host": "h", "timestamp": "1065910455000", "port": strconv.Itoa(ports[1]), "flume.syslog.status": ""}, "app - - caf\xe9"},
	})
	if n := proc.Counters().EventReadFail.Load(); n != 1 {
		t.Errorf("EventReadFail = %d, want 1", n)
	}
}

func freeTCP(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syslogudp: one datagram, one message; the trailing newline is dropped,
// lines inside are kept.
func TestUDP(t *testing.T) {
	proc := sluicetest.NewProcessor()
	src := build(t, "org.apache.flume.source.SyslogUDPSource", proc, map[string]string{
		"host": "127.0.0.1", "port": "0", "clientIPHeader": "ip", "clientHostnameHeader": "name", "keepFields": "all"})
	c, err := net.Dial("udp", src.(*UDPSource).Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, m := range []string{"<13>Oct 11 22:14:15 host2 app: y\n", "<13>1 - h a - - two\nlines", "junk"} {
		if _, err := c.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
		if _, err := proc.WaitFor(i+1, wait); err != nil {
			t.Fatal(err)
		}
	}
	ev := events(t, proc, 3)
	check(t, ev, []want{
		{map[string]string{"Facility": "1", "Severity": "5", "host": "host2", "ip": "127.0.0.1"}, "<13>Oct 11 22:14:15 host2 app: y"},
		{map[string]string{"host": "h"}, "<13>1 - h a - - two\nlines"},
		{map[string]string{"flume.syslog.status": "Invalid"}, "junk"},
	})
	if n := ev[0].Headers["name"]; n == "" {
		t.Error("no client host name header")
	}
}

// syslogtcp over TLS with a key store, as Flume's ssl properties say.
func TestTCPTLS(t *testing.T) {
	proc := sluicetest.NewProcessor()
	src := build(t, "syslogtcp", proc, map[string]string{"host": "127.0.0.1", "port": "0", "ssl": "true",
		"keystore": "../../internal/tlsconf/testdata/server.jks", "keystore-password": "changeit"})
	tcfg, _, err := tlsconf.Client(tlsconf.Params{TrustStore: "../../internal/tlsconf/testdata/trust.jks", TrustStorePassword: "changeit", TrustStoreType: "JKS"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.Dial("tcp", src.(*TCPSource).Addrs()[0].String(), tcfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("<13>1 - h app - - secret hello\n")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	check(t, events(t, proc, 1), []want{{map[string]string{"host": "h"}, "app - - secret hello"}})
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"syslogtcp", map[string]string{"port": "1", "keepFields": "hostnme"}, `keepFields (command line): "hostnme" names no field`},
		{"syslogtcp", map[string]string{"port": "1", "format.regex": "x"}, "format.* (command line): custom formats are not supported"},
		{"syslogtcp", map[string]string{"port": "70000"}, "not a port"},
		{"syslogtcp", map[string]string{"port": "1", "eventSize": "0"}, "eventSize"},
		{"syslogtcp", map[string]string{"port": "1", "ssl": "true"}, "a keystore is required"},
		{"multiport_syslogtcp", map[string]string{"ports": "1 x"}, `ports (command line): "x" is not a port`},
		{"multiport_syslogtcp", map[string]string{"ports": "1", "charset.default": "UTF-16"}, `charset.default (command line): "UTF-16" is not supported`},
		{"multiport_syslogtcp", map[string]string{"ports": "1", "charset.port.x": "UTF-8"}, `"x" is not a port number`},
		{"multiport_syslogtcp", map[string]string{"ports": "1", "batchSize": "0"}, "batchSize"},
		{"syslogudp", map[string]string{}, "port"},
	}
	for _, tc := range tests {
		spec, _ := sluice.Lookup(sluice.KindSource, tc.name)
		cfg := spec.Config()
		var ps []conf.Prop
		for k, v := range tc.props {
			ps = append(ps, conf.Prop{Key: k, FullKey: "a1.sources.r1." + k, Value: v})
		}
		var msgs []string
		for _, e := range conf.Decode(cfg, ps) {
			msgs = append(msgs, e.Error())
		}
		if got := strings.Join(msgs, "; "); !strings.Contains(got, tc.want) {
			t.Errorf("%s %v: errors %q, want %q", tc.name, tc.props, got, tc.want)
		}
	}
}

// A key store that cannot be read fails the start with an error that names
// the file but never the password, which the log does not show either.
func TestTLSErrorsHideThePassword(t *testing.T) {
	const secret = "TopSecret-0451"
	for _, ks := range []string{"/nonexistent/server.jks", "../../internal/tlsconf/testdata/server.jks"} {
		spec, _ := sluice.Lookup(sluice.KindSource, "syslogtcp")
		cfg := spec.Config()
		var ps []conf.Prop
		for k, v := range map[string]string{"host": "127.0.0.1", "port": "0", "ssl": "true", "keystore": ks, "keystore-password": secret} {
			ps = append(ps, conf.Prop{Key: k, FullKey: "a1.sources.r1." + k, Value: v})
		}
		for _, e := range conf.Decode(cfg, ps) {
			t.Fatalf("config: %v", e)
		}
		var logs strings.Builder
		env := sluicetest.SourceEnv("r1", sluicetest.NewProcessor())
		env.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		v, err := spec.New(env, cfg)
		if err != nil {
			t.Fatal(err)
		}
		src := v.(sluice.Source)
		err = src.Start(context.Background())
		if err == nil {
			src.Stop(context.Background())
			t.Fatalf("%s with a wrong password: started", ks)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
			t.Errorf("the password shows: %v\n%s", err, logs.String())
		}
		if !strings.Contains(err.Error(), "ssl") {
			t.Errorf("error %q does not say it is about ssl", err)
		}
	}
}
