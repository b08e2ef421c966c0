package avro

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/sinkloop"
	"github.com/sluiceio/sluice/sluicetest"
	avrosource "github.com/sluiceio/sluice/sources/avro"
)

const (
	wait    = 15 * time.Second
	stores  = "../../internal/tlsconf/testdata/"
	storePw = "changeit"
)

func decode(t testing.TB, kind sluice.Kind, name string, props map[string]string) any {
	t.Helper()
	spec, ok := sluice.Lookup(kind, name)
	if !ok {
		t.Fatalf("%s %s not registered", kind, name)
	}
	cfg := spec.Config()
	var ps []conf.Prop
	for k, v := range props {
		ps = append(ps, conf.Prop{Key: k, FullKey: "a1.x." + k, Value: v})
	}
	for _, e := range conf.Decode(cfg, ps) {
		if !e.Warning {
			t.Fatalf("config: %v", e)
		}
	}
	return cfg
}

// startSource runs a real avro source on 127.0.0.1:port (0: any).
func startSource(t testing.TB, proc sluice.ChannelProcessor, port int, props map[string]string) *avrosource.Source {
	t.Helper()
	all := map[string]string{"bind": "127.0.0.1", "port": strconv.Itoa(port)}
	for k, v := range props {
		all[k] = v
	}
	cfg := decode(t, sluice.KindSource, "avro", all)
	env := sluicetest.Env("r1")
	env.Processor = proc
	src, err := avrosource.New(env, cfg.(*avrosource.Config))
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = src.Stop(ctx)
	})
	return src
}

// testSink is a sink with the core's transaction loop over it: Process runs
// one transaction, as the agent's runner does.
type testSink struct {
	*Sink
	*sinkloop.Loop
}

func newSink(t testing.TB, ch sluice.Channel, addr string, props map[string]string) (*testSink, sluice.Env) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	all := map[string]string{"hostname": host, "port": port}
	for k, v := range props {
		all[k] = v
	}
	cfg := decode(t, sluice.KindSink, "org.apache.flume.sink.AvroSink", all)
	env := sluicetest.Env("k1")
	env.Channel = ch
	s, err := New(env, cfg.(*Config))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return &testSink{Sink: s, Loop: sluicetest.SinkLoop(env, s)}, env
}

func TestRoundTrip(t *testing.T) {
	trust := map[string]string{"ssl": "true", "truststore": stores + "trust.jks", "truststore-password": storePw}
	tests := []struct {
		name         string
		src, sink    map[string]string
		batch, count int
	}{
		{"none", nil, nil, 100, 100000},
		{"deflate", map[string]string{"compression-type": "deflate"}, map[string]string{"compression-type": "deflate", "compression-level": "1"}, 1000, 100000},
		{"tls pkcs12", map[string]string{"ssl": "true", "keystore": stores + "server.p12", "keystore-password": storePw, "keystore-type": "PKCS12"}, trust, 1000, 100000},
		{"tls jks", map[string]string{"ssl": "true", "keystore": stores + "server.jks", "keystore-password": storePw}, map[string]string{"ssl": "true", "truststore": stores + "trust.p12", "truststore-password": storePw, "truststore-type": "PKCS12"}, 1000, 100000},
		{"deflate + tls", map[string]string{"compression-type": "deflate", "ssl": "true", "keystore": stores + "server.jks", "keystore-password": storePw},
			map[string]string{"compression-type": "deflate", "ssl": "true", "trust-all-certs": "true"}, 500, 100000},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proc := sluicetest.NewProcessor()
			src := startSource(t, proc, 0, tc.src)
			want := sluicetest.RandomEvents(tc.count, uint64(i))
			ch := sluicetest.NewChannel(want...)
			props := map[string]string{"batch-size": strconv.Itoa(tc.batch)}
			for k, v := range tc.sink {
				props[k] = v
			}
			s, env := newSink(t, ch, src.Addr().String(), props)
			if errs := sluicetest.Drain(t, s, ch, 0); len(errs) > 0 {
				t.Fatal(errs)
			}
			sluicetest.SameEvents(t, proc.Events(), want)
			c := env.SinkCounters
			if c.EventDrainAttempt.Load() != int64(tc.count) || c.EventDrainSuccess.Load() != int64(tc.count) ||
				c.BatchComplete.Load() != int64(tc.count/tc.batch) || c.ConnectionCreated.Load() != 1 || c.EventWriteFail.Load() != 0 {
				t.Errorf("counters %v", c.Snapshot())
			}
			if st, err := s.Process(context.Background()); st != sluice.Backoff || err != nil || c.BatchEmpty.Load() != 1 {
				t.Errorf("empty channel: %v %v", st, err)
			}
		})
	}
}

func TestFailedStatusRetriedUntilAccepted(t *testing.T) {
	proc := sluicetest.NewFailingProcessor(3)
	src := startSource(t, proc, 0, nil)
	want := sluicetest.RandomEvents(1000, 7)
	ch := sluicetest.NewChannel(want...)
	s, env := newSink(t, ch, src.Addr().String(), map[string]string{"batch-size": "300"})
	errs := sluicetest.Drain(t, s, ch, 3)
	if len(errs) != 3 {
		t.Fatalf("%d failed calls, want 3: %v", len(errs), errs)
	}
	for _, err := range errs {
		if !strings.Contains(err.Error(), "answered FAILED") || !strings.Contains(err.Error(), "rolled back") {
			t.Errorf("error %q", err)
		}
	}
	// Nothing lost, nothing twice, and in order: each refused batch went
	// back to the head of the channel.
	sluicetest.SameEvents(t, proc.Events(), want)
	c := env.SinkCounters
	if c.EventWriteFail.Load() != 3 || c.ConnectionCreated.Load() != 4 || c.ConnectionClosed.Load() != 3 || ch.Rollbacks != 3 {
		t.Errorf("counters %v, rollbacks %d", c.Snapshot(), ch.Rollbacks)
	}
}

func TestDeadPeerThenBack(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	want := sluicetest.RandomEvents(250, 3)
	ch := sluicetest.NewChannel(want...)
	s, env := newSink(t, ch, l.Addr().String(), map[string]string{"batch-size": "100"})
	for i := 0; i < 3; i++ {
		_, err := s.Process(context.Background())
		if err == nil || !strings.Contains(err.Error(), "connect to 127.0.0.1:") {
			t.Fatalf("dead peer: %v", err)
		}
		if ch.Len() != 250 {
			t.Fatalf("%d events left in the channel after a failed send", ch.Len())
		}
	}
	c := env.SinkCounters
	if c.ConnectionFailed.Load() != 3 || c.EventDrainSuccess.Load() != 0 {
		t.Errorf("counters %v", c.Snapshot())
	}
	proc := sluicetest.NewProcessor()
	startSource(t, proc, port, nil)
	if errs := sluicetest.Drain(t, s, ch, 0); len(errs) > 0 {
		t.Fatal(errs)
	}
	sluicetest.SameEvents(t, proc.Events(), want)
}

func TestStalledPeerTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		// Accept and read everything, never answer.
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go io.Copy(io.Discard, c)
		}
	}()
	ch := sluicetest.NewChannel(sluicetest.RandomEvents(10, 4)...)
	s, env := newSink(t, ch, l.Addr().String(), map[string]string{"request-timeout": "1000"})
	_, err = s.Process(context.Background())
	if err == nil || !strings.Contains(err.Error(), "timed out after 1s") {
		t.Fatalf("stalled peer: %v", err)
	}
	c := env.SinkCounters
	if ch.Len() != 10 || ch.Rollbacks != 1 || c.ConnectionClosed.Load() != 1 || c.EventWriteFail.Load() != 1 {
		t.Errorf("channel %d rollbacks %d counters %v", ch.Len(), ch.Rollbacks, c.Snapshot())
	}
}

func TestCancelledProcessRollsBack(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go io.Copy(io.Discard, c)
		}
	}()
	ch := sluicetest.NewChannel(sluicetest.RandomEvents(10, 5)...)
	s, _ := newSink(t, ch, l.Addr().String(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for ch.Len() != 0 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	_, err = s.Process(ctx)
	if !errors.Is(err, context.Canceled) || ch.Len() != 10 {
		t.Fatalf("err %v, %d events back", err, ch.Len())
	}
}

func TestUntrustedServer(t *testing.T) {
	src := startSource(t, sluicetest.NewProcessor(), 0, map[string]string{"ssl": "true", "keystore": stores + "other.jks", "keystore-password": storePw})
	ch := sluicetest.NewChannel(sluicetest.RandomEvents(1, 1)...)
	s, env := newSink(t, ch, src.Addr().String(), map[string]string{"ssl": "true", "truststore": stores + "trust.jks"})
	_, err := s.Process(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not trusted") {
		t.Fatalf("untrusted server: %v", err)
	}
	if env.SinkCounters.ConnectionFailed.Load() != 1 || ch.Len() != 1 {
		t.Errorf("counters %v", env.SinkCounters.Snapshot())
	}
}

func TestResetConnectionInterval(t *testing.T) {
	proc := sluicetest.NewProcessor()
	src := startSource(t, proc, 0, nil)
	ch := sluicetest.NewChannel(sluicetest.RandomEvents(20, 6)...)
	s, env := newSink(t, ch, src.Addr().String(), map[string]string{"batch-size": "10", "reset-connection-interval": "60"})
	if _, err := s.Process(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Move the sink's clock past the interval instead of waiting.
	s.conns.Now = func() time.Time { return time.Now().Add(61 * time.Second) }
	if _, err := s.Process(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := env.SinkCounters
	if c.ConnectionCreated.Load() != 2 || c.ConnectionClosed.Load() != 1 || len(proc.Events()) != 20 {
		t.Errorf("counters %v", c.Snapshot())
	}
}

func TestFlumeFallbacksAndErrors(t *testing.T) {
	cfg := decode(t, sluice.KindSink, "avro", map[string]string{"hostname": "h", "port": "1", "batch-size": "0", "connect-timeout": "500", "request-timeout": "999"}).(*Config)
	c, notes := cfg.normalized()
	if c.BatchSize != 100 || c.ConnectTimeout != 20*time.Second || c.RequestTimeout != 20*time.Second || len(notes) != 3 {
		t.Errorf("%+v %q", c, notes)
	}
	spec, _ := sluice.Lookup(sluice.KindSink, "avro")
	for props, want := range map[string]string{
		"compression-type=zip":                               `"zip" is not none or deflate`,
		"compression-type=deflate,compression-level=11":      `"11" is not a deflate level`,
		"ssl=true,truststore=x,truststore-type=BCFKS":        "truststore-type",
		"include-protocols=TLSv1.2 TLSv1.4":                  `"TLSv1.4": not a protocol name`,
		"hostname= ":                                         "hostname",
		"compression-type=none,compression-level=11,port=-1": "not a TCP port",
	} {
		all := map[string]string{"hostname": "h", "port": "1"}
		for _, kv := range strings.Split(props, ",") {
			k, v, _ := strings.Cut(kv, "=")
			all[k] = v
		}
		cfg := spec.Config()
		var ps []conf.Prop
		for k, v := range all {
			ps = append(ps, conf.Prop{Key: k, FullKey: "a1.sinks.k1." + k, Value: v})
		}
		var msgs []string
		for _, e := range conf.Decode(cfg, ps) {
			msgs = append(msgs, e.Error())
		}
		if got := strings.Join(msgs, "; "); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", props, got, want)
		}
	}
	// A trust store that cannot be read fails Start.
	env := sluicetest.Env("k1")
	env.Channel = sluicetest.NewChannel()
	bad := defaults()
	bad.Hostname, bad.Port, bad.SSL, bad.Truststore = "h", 1, true, stores+"missing.jks"
	s, err := New(env, bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "missing.jks") {
		t.Fatalf("Start: %v", err)
	}
	if s.BatchSize() != 100 {
		t.Errorf("BatchSize %d", s.BatchSize())
	}
	var _ sluice.Batcher = s
}
