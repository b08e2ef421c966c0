package netcatudp

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

const wait = 10 * time.Second

// syncBuf is a log sink tests can read while the source writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T, p *sluicetest.Processor, header string, logs *syncBuf) *Source {
	t.Helper()
	spec, ok := sluice.Lookup(sluice.KindSource, "org.apache.flume.source.NetcatUdpSource")
	if !ok {
		t.Fatal("netcatudp not registered under its Flume class name")
	}
	cfg := spec.Config().(*Config)
	cfg.Bind, cfg.RemoteAddressHeader = "127.0.0.1", header
	env := sluicetest.SourceEnv("r1", p)
	if logs != nil {
		env.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	c, err := spec.New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := c.(*Source)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	return s
}

func client(t *testing.T, s *Source) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, s.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestDatagramsBecomeEvents(t *testing.T) {
	p := sluicetest.NewProcessor()
	s := start(t, p, "remote", nil)
	c := client(t, s)
	for _, d := range []string{"hello\nignored after newline", "no newline", "", "\nonly after", "crlf\r\n"} {
		c.Write([]byte(d))
	}
	evs, err := p.WaitFor(5, wait)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"hello", "no newline", "", "", "crlf\r"}
	wantAddr := "/" + c.LocalAddr().String()
	for i, e := range evs {
		if string(e.Body) != want[i] {
			t.Errorf("event %d body %q, want %q", i, e.Body, want[i])
		}
		if e.Headers["remote"] != wantAddr || len(e.Headers) != 1 {
			t.Errorf("event %d headers %v, want remote=%s", i, e.Headers, wantAddr)
		}
	}
}

func TestNoHeaderWhenUnset(t *testing.T) {
	p := sluicetest.NewProcessor()
	s := start(t, p, "", nil)
	client(t, s).Write([]byte("x"))
	evs, err := p.WaitFor(1, wait)
	if err != nil {
		t.Fatal(err)
	}
	if h := evs[0].Headers; h == nil || len(h) != 0 {
		t.Fatalf("headers %v, want an empty map", h)
	}
}

func TestLongDatagramCutAt2048(t *testing.T) {
	p := sluicetest.NewProcessor()
	s := start(t, p, "", nil)
	c := client(t, s)
	c.Write(bytes.Repeat([]byte("a"), 2048))
	c.Write(bytes.Repeat([]byte("b"), 3000))
	evs, err := p.WaitFor(2, wait)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs[0].Body) != 2048 || len(evs[1].Body) != 2048 || evs[1].Body[2047] != 'b' {
		t.Fatalf("lengths %d, %d", len(evs[0].Body), len(evs[1].Body))
	}
	if n := s.counters.EventReadFail.Load(); n != 1 {
		t.Fatalf("EventReadFail %d, want 1 (only the cut datagram)", n)
	}
}

func TestRefusedDatagramsAreLostAndLogged(t *testing.T) {
	p := sluicetest.NewProcessor()
	p.SetFail(sluicetest.ErrFull)
	logs := &syncBuf{}
	s := start(t, p, "", logs)
	c := client(t, s)
	c.Write([]byte("lost"))
	deadline := time.Now().Add(wait)
	for p.Calls() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("datagram never handed to the processor")
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.SetFail(nil)
	c.Write([]byte("kept"))
	evs, err := p.WaitFor(1, wait)
	if err != nil {
		t.Fatal(err)
	}
	if string(evs[0].Body) != "kept" || len(evs) != 1 {
		t.Fatalf("events %d, first %q", len(evs), evs[0].Body)
	}
	if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "they are lost") {
		t.Fatalf("no warning about lost datagrams in %q", l)
	}
	// The refused batch is counted once, by the core's hand-off.
	sc := s.counters
	if sc.ChannelWriteFail.Load() != 1 || sc.EventReceived.Load() != 2 || sc.EventAccepted.Load() != 1 {
		t.Fatalf("counters %v", sc.Snapshot())
	}
}

func TestBurstArrivesCompleteInOrder(t *testing.T) {
	p := sluicetest.NewProcessor()
	s := start(t, p, "", nil)
	c := client(t, s)
	const n = 150
	for i := range n {
		fmt.Fprintf(c, "%d", i)
	}
	evs, err := p.WaitFor(n, wait)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range evs {
		if string(e.Body) != fmt.Sprint(i) {
			t.Fatalf("event %d is %q", i, e.Body)
		}
	}
}

func TestStop(t *testing.T) {
	p := sluicetest.NewProcessor()
	s := start(t, p, "", nil)
	addr := s.Addr().(*net.UDPAddr)
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	// The port is free again.
	pc, err := net.ListenUDP("udp", addr)
	if err != nil {
		t.Fatalf("port still held after Stop: %v", err)
	}
	pc.Close()

	env := sluicetest.SourceEnv("r2", p)
	never, _ := New(env, &Config{Bind: "127.0.0.1"})
	if err := never.Stop(context.Background()); err != nil {
		t.Fatalf("Stop without Start: %v", err)
	}
}

func TestJavaAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:514":         "/127.0.0.1:514",
		"[::ffff:10.0.0.1]:9":   "/10.0.0.1:9",
		"[::1]:80":              "/[0:0:0:0:0:0:0:1]:80",
		"[2001:db8::a0b:1]:443": "/[2001:db8:0:0:0:0:a0b:1]:443",
	} {
		if got := javaAddr(netip.MustParseAddrPort(in)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

func TestConfig(t *testing.T) {
	spec, _ := sluice.Lookup(sluice.KindSource, "netcatudp")
	for _, key := range []string{"remoteAddressHeader", "remoteAddress"} {
		cfg := spec.Config().(*Config)
		errs := conf.Decode(cfg, []conf.Prop{{Key: "port", Value: "5140"}, {Key: key, Value: "peer"}})
		if len(errs) != 0 {
			t.Fatal(errs)
		}
		if cfg.RemoteAddressHeader != "peer" || cfg.Port != 5140 || cfg.Bind != "" {
			t.Fatalf("%s: decoded %+v", key, cfg)
		}
	}
	if errs := conf.Decode(spec.Config(), nil); len(errs) == 0 || !strings.Contains(fmt.Sprint(errs), `"port"`) {
		t.Fatalf("missing port: %v", errs)
	}
	if errs := conf.Decode(spec.Config(), []conf.Prop{{Key: "port", Value: "-1"}}); len(errs) == 0 {
		t.Fatal("negative port accepted")
	}
}
