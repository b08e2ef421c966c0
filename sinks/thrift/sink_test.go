package thrift

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/sinkloop"
	_ "github.com/sluiceio/sluice/sinks/processor"
	"github.com/sluiceio/sluice/sluicetest"
	thriftsource "github.com/sluiceio/sluice/sources/thrift"
)

const (
	wait    = 15 * time.Second
	stores  = "../../internal/tlsconf/testdata/"
	storePw = "changeit"
)

func decode(t testing.TB, kind sluice.Kind, name string, props map[string]string) (any, []*conf.Error) {
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
	var errs []*conf.Error
	for _, e := range conf.Decode(cfg, ps) {
		if !e.Warning {
			errs = append(errs, e)
		}
	}
	return cfg, errs
}

func mustDecode(t testing.TB, kind sluice.Kind, name string, props map[string]string) any {
	t.Helper()
	cfg, errs := decode(t, kind, name, props)
	if len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	return cfg
}

// startSource runs a real thrift source on 127.0.0.1:port (0: any).
func startSource(t testing.TB, proc sluice.ChannelProcessor, port int, props map[string]string) *thriftsource.Source {
	t.Helper()
	all := map[string]string{"bind": "127.0.0.1", "port": strconv.Itoa(port)}
	for k, v := range props {
		all[k] = v
	}
	cfg := mustDecode(t, sluice.KindSource, "thrift", all)
	env := sluicetest.Env("r1")
	env.Processor = proc
	src, err := thriftsource.New(env, cfg.(*thriftsource.Config))
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

func newSink(t testing.TB, name string, ch sluice.Channel, addr string, props map[string]string) (*testSink, sluice.Env) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	all := map[string]string{"hostname": host, "port": port}
	for k, v := range props {
		all[k] = v
	}
	cfg := mustDecode(t, sluice.KindSink, "org.apache.flume.sink.ThriftSink", all)
	env := sluicetest.Env(name)
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
	tlsSrc := map[string]string{"ssl": "true", "keystore": stores + "server.jks", "keystore-password": storePw}
	tests := []struct {
		name         string
		src, sink    map[string]string
		batch, count int
	}{
		{"compact", nil, nil, 100, 100000},
		{"binary", map[string]string{"protocol": "binary"}, map[string]string{"protocol": "binary"}, 1000, 100000},
		{"tls compact", tlsSrc, map[string]string{"ssl": "true", "truststore": stores + "trust.jks", "truststore-password": storePw}, 1000, 50000},
		{"tls binary pkcs12", map[string]string{"protocol": "binary", "ssl": "true", "keystore": stores + "server.p12", "keystore-password": storePw, "keystore-type": "PKCS12"},
			map[string]string{"protocol": "binary", "ssl": "true", "truststore": stores + "trust.p12", "truststore-password": storePw, "truststore-type": "PKCS12"}, 500, 50000},
		{"tls trust-all", tlsSrc, map[string]string{"ssl": "true", "trust-all-certs": "true"}, 100, 1000},
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
			s, env := newSink(t, "k1", ch, src.Addr().String(), props)
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
	s, env := newSink(t, "k1", ch, src.Addr().String(), map[string]string{"batch-size": "300"})
	errs := sluicetest.Drain(t, s, ch, 3)
	if len(errs) != 3 {
		t.Fatalf("%d failed calls, want 3: %v", len(errs), errs)
	}
	for _, err := range errs {
		if !strings.Contains(err.Error(), "the source answered FAILED") || !strings.Contains(err.Error(), "rolled back") {
			t.Errorf("error %q", err)
		}
	}
	// Nothing lost, nothing twice, and in order.
	sluicetest.SameEvents(t, proc.Events(), want)
	c := env.SinkCounters
	if c.EventWriteFail.Load() != 3 || c.ConnectionCreated.Load() != 4 || c.ConnectionClosed.Load() != 3 || ch.Rollbacks != 3 {
		t.Errorf("counters %v, rollbacks %d", c.Snapshot(), ch.Rollbacks)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestDeadPeerThenBack(t *testing.T) {
	port := freePort(t)
	want := sluicetest.RandomEvents(250, 3)
	ch := sluicetest.NewChannel(want...)
	s, env := newSink(t, "k1", ch, "127.0.0.1:"+strconv.Itoa(port), map[string]string{"batch-size": "100"})
	for range 3 {
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

// A source that goes away between batches: the failed batch is rolled
// back, and the next one reconnects to the source's successor.
func TestPeerRestartsMidStream(t *testing.T) {
	port := freePort(t)
	proc := sluicetest.NewProcessor()
	src := startSource(t, proc, port, nil)
	want := sluicetest.RandomEvents(500, 9)
	ch := sluicetest.NewChannel(want...)
	s, _ := newSink(t, "k1", ch, "127.0.0.1:"+strconv.Itoa(port), map[string]string{"batch-size": "100"})
	if _, err := s.Process(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := src.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Process(context.Background()); err == nil {
		t.Fatal("a batch was acknowledged by a stopped source")
	}
	if ch.Len() != 400 {
		t.Fatalf("%d events in the channel, want 400", ch.Len())
	}
	startSource(t, proc, port, nil)
	if errs := sluicetest.Drain(t, s, ch, 0); len(errs) > 0 {
		t.Fatal(errs)
	}
	sluicetest.SameEvents(t, proc.Events(), want)
}

func stalledPeer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
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
	return l.Addr().String()
}

func TestStalledPeerTimesOut(t *testing.T) {
	ch := sluicetest.NewChannel(sluicetest.RandomEvents(10, 4)...)
	s, env := newSink(t, "k1", ch, stalledPeer(t), map[string]string{"request-timeout": "1000"})
	_, err := s.Process(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no answer within request-timeout (1s)") {
		t.Fatalf("stalled peer: %v", err)
	}
	c := env.SinkCounters
	if ch.Len() != 10 || ch.Rollbacks != 1 || c.ConnectionClosed.Load() != 1 || c.EventWriteFail.Load() != 1 {
		t.Errorf("channel %d rollbacks %d counters %v", ch.Len(), ch.Rollbacks, c.Snapshot())
	}
}

func TestCancelledProcessRollsBack(t *testing.T) {
	ch := sluicetest.NewChannel(sluicetest.RandomEvents(10, 5)...)
	s, _ := newSink(t, "k1", ch, stalledPeer(t), nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for ch.Len() != 0 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	_, err := s.Process(ctx)
	if !errors.Is(err, context.Canceled) || ch.Len() != 10 {
		t.Fatalf("err %v, %d events back", err, ch.Len())
	}
}

func TestUntrustedServer(t *testing.T) {
	src := startSource(t, sluicetest.NewProcessor(), 0, map[string]string{"ssl": "true", "keystore": stores + "other.jks", "keystore-password": storePw})
	ch := sluicetest.NewChannel(sluicetest.RandomEvents(1, 1)...)
	s, env := newSink(t, "k1", ch, src.Addr().String(), map[string]string{"ssl": "true", "truststore": stores + "trust.jks"})
	_, err := s.Process(context.Background())
	if err == nil || !strings.Contains(err.Error(), "TLS handshake") {
		t.Fatalf("untrusted server: %v", err)
	}
	if env.SinkCounters.ConnectionFailed.Load() != 1 || ch.Len() != 1 {
		t.Errorf("counters %v", env.SinkCounters.Snapshot())
	}
}

func TestResetConnectionInterval(t *testing.T) {
	for _, key := range []string{"reset-connection-interval", "connection-reset-interval"} {
		t.Run(key, func(t *testing.T) {
			proc := sluicetest.NewProcessor()
			src := startSource(t, proc, 0, nil)
			ch := sluicetest.NewChannel(sluicetest.RandomEvents(20, 6)...)
			s, env := newSink(t, "k1", ch, src.Addr().String(), map[string]string{"batch-size": "10", key: "60"})
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
		})
	}
}

// group builds a sink processor of type typ over thrift sinks k1, k2
// sending to addrs, all draining ch.
func group(t *testing.T, typ string, props map[string]string, ch *sluicetest.Channel, addrs ...string) sluice.SinkProcessor {
	t.Helper()
	spec, ok := sluice.Lookup(sluice.KindSinkProcessor, typ)
	if !ok {
		t.Fatalf("sink processor %s not registered", typ)
	}
	cfg := spec.Config()
	var ps []conf.Prop
	for k, v := range props {
		ps = append(ps, conf.Prop{Key: k, FullKey: "a1.sinkgroups.g1.processor." + k, Value: v})
	}
	for _, e := range conf.Decode(cfg, ps) {
		if !e.Warning {
			t.Fatal(e)
		}
	}
	env := sluicetest.Env("g1")
	for i, addr := range addrs {
		name := "k" + strconv.Itoa(i+1)
		s, _ := newSink(t, name, ch, addr, map[string]string{"batch-size": "50", "request-timeout": "1000"})
		env.Sinks = append(env.Sinks, sluice.NamedSink{Name: name, Sink: s.Sink, Drain: s.Loop})
	}
	p, err := spec.New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sp := p.(sluice.SinkProcessor)
	if err := sp.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sp.Stop(context.Background()) })
	return sp
}

// The preferred sink's source is dead, then stalls: failover moves every
// batch to the other sink and nothing is lost or doubled.
func TestFailoverGroup(t *testing.T) {
	for _, dead := range []string{"refused", "stalled"} {
		t.Run(dead, func(t *testing.T) {
			bad := "127.0.0.1:" + strconv.Itoa(freePort(t))
			if dead == "stalled" {
				bad = stalledPeer(t)
			}
			proc := sluicetest.NewProcessor()
			good := startSource(t, proc, 0, nil)
			want := sluicetest.RandomEvents(1000, 11)
			ch := sluicetest.NewChannel(want...)
			g := group(t, "failover", map[string]string{"priority.k1": "10", "priority.k2": "5"}, ch, bad, good.Addr().String())
			sluicetest.Drain(t, g, ch, 1)
			sluicetest.SameEvents(t, proc.Events(), want)
		})
	}
}

// load_balance spreads batches over two live sources; together they get
// every event once, and a dead member's batches go to the other.
func TestLoadBalanceGroup(t *testing.T) {
	p1, p2 := sluicetest.NewProcessor(), sluicetest.NewProcessor()
	s1, s2 := startSource(t, p1, 0, nil), startSource(t, p2, 0, map[string]string{"protocol": "compact"})
	want := sluicetest.RandomEvents(2000, 12)
	ch := sluicetest.NewChannel(want...)
	g := group(t, "load_balance", map[string]string{"selector": "round_robin", "backoff": "true"}, ch, s1.Addr().String(), s2.Addr().String())
	sluicetest.Drain(t, g, ch, 0)
	if len(p1.Events()) == 0 || len(p2.Events()) == 0 {
		t.Fatalf("unbalanced: %d and %d events", len(p1.Events()), len(p2.Events()))
	}
	seen := map[string]int{}
	for _, e := range append(p1.Events(), p2.Events()...) {
		seen[e.Headers["seq"]]++
	}
	for i := range want {
		if seen[strconv.Itoa(i)] != 1 {
			t.Fatalf("event %d arrived %d times", i, seen[strconv.Itoa(i)])
		}
	}

	// k2's source dies: the rest still gets through k1.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	more := sluicetest.RandomEvents(500, 13)
	ch.Add(more...)
	before := len(p1.Events())
	sluicetest.Drain(t, g, ch, 5)
	if got := len(p1.Events()) - before; got != 500 {
		t.Fatalf("k1 got %d of the 500 events sent while k2 was down", got)
	}
}

func TestConfigAndFallbacks(t *testing.T) {
	cfg := mustDecode(t, sluice.KindSink, "thrift", map[string]string{"hostname": "h", "port": "1", "batch-size": "0", "connect-timeout": "500", "request-timeout": "999"}).(*Config)
	c, notes := cfg.normalized()
	if c.BatchSize != 100 || c.ConnectTimeout != 20*time.Second || c.RequestTimeout != 20*time.Second || len(notes) != 3 {
		t.Errorf("%+v %q", c, notes)
	}
	for props, want := range map[string]string{
		"protocol=json":                               `"json" is not compact or binary`,
		"kerberos=true,client-principal=p":            "Kerberos (SASL GSSAPI) is not supported",
		"ssl=true,truststore=x,truststore-type=BCFKS": "truststore-type",
		"include-protocols=TLSv1.4":                   `"TLSv1.4": not a protocol name`,
		"hostname= ":                                  "hostname",
		"port=-1":                                     "not a TCP port",
	} {
		all := map[string]string{"hostname": "h", "port": "1"}
		for _, kv := range strings.Split(props, ",") {
			k, v, _ := strings.Cut(kv, "=")
			all[k] = v
		}
		_, errs := decode(t, sluice.KindSink, "thrift", all)
		if got := fmt.Sprint(errs); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", props, got, want)
		}
	}
	// A trust store that cannot be opened fails Start and shows no password.
	env := sluicetest.Env("k1")
	env.Channel = sluicetest.NewChannel()
	bad := defaults()
	bad.Hostname, bad.Port, bad.SSL, bad.Truststore, bad.TruststorePassword = "h", 1, true, stores+"trust.jks", "s3cret-wrong"
	s, err := New(env, bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil || strings.Contains(err.Error(), "s3cret-wrong") {
		t.Fatalf("Start: %v", err)
	}
	var _ sluice.Batcher = s
}
