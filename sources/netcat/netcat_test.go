package netcat

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

const wait = 10 * time.Second

func start(t testing.TB, proc sluice.ChannelProcessor, mod func(*Config)) *Source {
	t.Helper()
	spec, ok := sluice.Lookup(sluice.KindSource, "org.apache.flume.source.NetcatSource")
	if !ok {
		t.Fatal("netcat not registered under its Flume class name")
	}
	cfg := spec.Config().(*Config)
	cfg.Bind, cfg.Port = "127.0.0.1", 0
	if mod != nil {
		mod(cfg)
	}
	env := sluicetest.Env("r1")
	if p, ok := proc.(*sluicetest.Processor); ok {
		env = sluicetest.SourceEnv("r1", p)
	}
	env.Processor = proc
	c, err := spec.New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := c.(*Source)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		s.Stop(ctx)
	})
	return s
}

func dial(t testing.TB, s *Source) (*net.TCPConn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(wait))
	return c.(*net.TCPConn), bufio.NewReader(c)
}

func readLines(t *testing.T, r *bufio.Reader, n int) []string {
	t.Helper()
	out := make([]string, 0, n)
	for range n {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", out, err)
		}
		out = append(out, l)
	}
	return out
}

func bodies(evs []*sluice.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = string(e.Body)
	}
	return out
}

// expectEOF wants the server to have closed the connection: EOF, or a
// reset when the server closed with unread input (TCP does that).
func expectEOF(t *testing.T, r *bufio.Reader) {
	t.Helper()
	if extra, err := r.ReadString('\n'); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("want the connection closed, got %q, %v", extra, err)
	}
}

func TestLinesBecomeEventsAndAreAcked(t *testing.T) {
	p := sluicetest.NewProcessor()
	s := start(t, p, nil)
	c, r := dial(t, s)
	// \r before \n stays in the body, an empty line is an event, UTF-8 passes through.
	in := "hello\nwin\r\n\nnaïve ☃\n"
	if _, err := c.Write([]byte(in)); err != nil {
		t.Fatal(err)
	}
	if got := readLines(t, r, 4); strings.Join(got, "") != "OK\nOK\nOK\nOK\n" {
		t.Fatalf("replies %q", got)
	}
	want := []string{"hello", "win\r", "", "naïve ☃"}
	if got := bodies(p.Events()); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("bodies %q, want %q", got, want)
	}
	for _, e := range p.Events() {
		if len(e.Headers) != 0 {
			t.Fatalf("headers %v, want none", e.Headers)
		}
	}
	// netcat moves only the event counters, not the Append ones.
	sc := s.counters
	if sc.EventReceived.Load() != 4 || sc.EventAccepted.Load() != 4 || sc.AppendBatchReceived.Load() != 0 || sc.AppendReceived.Load() != 0 {
		t.Fatalf("counters %v", sc.Snapshot())
	}
}

// gateProc blocks in Process until released and records whether the batch
// had been committed (returned) — the client must never see OK before.
type gateProc struct {
	entered   chan struct{}
	release   chan struct{}
	committed atomic.Int32
}

func (g *gateProc) ProcessRetry(ctx context.Context, evs []*sluice.Event, call sluice.Call, _ sluice.Retry) error {
	return g.Process(ctx, evs, call)
}

func (g *gateProc) Process(ctx context.Context, evs []*sluice.Event, _ sluice.Call) error {
	g.entered <- struct{}{}
	select {
	case <-g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	g.committed.Add(int32(len(evs)))
	return nil
}

func TestOKOnlyAfterCommit(t *testing.T) {
	g := &gateProc{entered: make(chan struct{}, 1), release: make(chan struct{})}
	s := start(t, g, nil)
	c, r := dial(t, s)
	c.Write([]byte("one\n"))
	<-g.entered
	got := make(chan int32, 1)
	go func() {
		if _, err := r.ReadString('\n'); err == nil {
			got <- g.committed.Load()
		}
		close(got)
	}()
	// Give a wrongly early OK the chance to arrive before the commit.
	select {
	case n := <-got:
		t.Fatalf("OK arrived while the batch was uncommitted (committed=%d)", n)
	case <-time.After(100 * time.Millisecond):
	}
	close(g.release)
	if n, ok := <-got; !ok || n != 1 {
		t.Fatalf("after commit: reply seen=%v committed=%d", ok, n)
	}
}

func TestFailedReplyKeepsConnection(t *testing.T) {
	p := sluicetest.NewProcessor()
	p.SetFail(errors.New("channel c1 is full:\nno room"))
	s := start(t, p, nil)
	c, r := dial(t, s)
	c.Write([]byte("a\nb\n"))
	got := readLines(t, r, 2)
	for _, l := range got {
		if l != "FAILED: channel c1 is full: no room\n" {
			t.Fatalf("reply %q", l)
		}
	}
	p.SetFail(nil)
	c.Write([]byte("c\n"))
	if l := readLines(t, r, 1)[0]; l != "OK\n" {
		t.Fatalf("reply after recovery %q", l)
	}
	if got := bodies(p.Events()); fmt.Sprint(got) != "[c]" {
		t.Fatalf("committed %q", got)
	}
	// The core counts the hand-off: three lines received, one accepted,
	// and one ChannelWriteFail per refused batch.
	sc := s.counters
	if sc.EventReceived.Load() != 3 || sc.EventAccepted.Load() != 1 {
		t.Fatalf("EventReceived %d, EventAccepted %d; want 3, 1", sc.EventReceived.Load(), sc.EventAccepted.Load())
	}
	if n := sc.ChannelWriteFail.Load(); n < 1 || n > 2 {
		t.Fatalf("ChannelWriteFail %d, want 1 or 2 (one per refused batch)", n)
	}
}

func TestOverlongLine(t *testing.T) {
	cases := []struct {
		name, in   string
		max        int
		wantOK     int
		refused    bool
		wantBodies string
	}{
		{"exactly the limit", "012345678\n", 10, 1, false, "[012345678]"},
		{"one over", "0123456789\n", 10, 0, true, "[]"},
		{"after good lines", "a\nb\n0123456789abc\nnever\n", 10, 2, true, "[a b]"},
		{"no newline at all", "0123456789abcdef", 10, 0, true, "[]"},
		{"multibyte at the limit", "ééééééééé\n", 10, 1, false, "[ééééééééé]"},
		{"multibyte over", "éééééééééé\n", 10, 0, true, "[]"},
		// A character outside the BMP is two UTF-16 units, as Java counts.
		{"surrogate pair counts two", "12345678😀\n", 10, 0, true, "[]"},
		{"surrogate pair fits", "1234567😀\n", 10, 1, false, "[1234567😀]"},
		{"split over reads", strings.Repeat("x", 600) + "\n", 512, 0, true, "[]"},
	}
	for _, tc := range cases {
		for _, halfClose := range []bool{false, true} {
			name := tc.name
			if halfClose {
				name += " then EOF"
			}
			t.Run(name, func(t *testing.T) {
				p := sluicetest.NewProcessor()
				s := start(t, p, func(c *Config) { c.MaxLineLength = tc.max })
				c, r := dial(t, s)
				for i := 0; i < len(tc.in); i += 7 {
					c.Write([]byte(tc.in[i:min(i+7, len(tc.in))]))
				}
				if halfClose {
					c.CloseWrite()
				}
				for range tc.wantOK {
					if l := readLines(t, r, 1)[0]; l != "OK\n" {
						t.Fatalf("reply %q", l)
					}
				}
				if !tc.refused {
					c.CloseWrite()
				} else {
					want := fmt.Sprintf("FAILED: Event exceeds the maximum length (%d chars, including newline)\n", tc.max)
					if l := readLines(t, r, 1)[0]; l != want {
						t.Fatalf("reply %q, want %q", l, want)
					}
					if n := s.counters.EventReadFail.Load(); n != 1 {
						t.Fatalf("EventReadFail %d", n)
					}
				}
				expectEOF(t, r)
				if got := fmt.Sprint(bodies(p.Events())); got != tc.wantBodies {
					t.Fatalf("bodies %s, want %s", got, tc.wantBodies)
				}
			})
		}
	}
}

func TestPartialLineAtEOFIsDroppedAndCounted(t *testing.T) {
	p := sluicetest.NewProcessor()
	s := start(t, p, nil)
	c, r := dial(t, s)
	c.Write([]byte("x\npartial"))
	c.CloseWrite()
	if l := readLines(t, r, 1)[0]; l != "OK\n" {
		t.Fatalf("reply %q", l)
	}
	expectEOF(t, r)
	if got := fmt.Sprint(bodies(p.Events())); got != "[x]" {
		t.Fatalf("bodies %s", got)
	}
	if n := s.counters.EventReadFail.Load(); n != 1 {
		t.Fatalf("EventReadFail %d, want 1", n)
	}
}

func TestNoAckMode(t *testing.T) {
	p := sluicetest.NewProcessor()
	s := start(t, p, func(c *Config) { c.AckEveryEvent = false; c.MaxLineLength = 5 })
	c, r := dial(t, s)
	c.Write([]byte("a\nb\n"))
	if _, err := p.WaitFor(2, wait); err != nil {
		t.Fatal(err)
	}
	// The first thing the client reads must be the refusal, not an OK.
	c.Write([]byte("toolong\n"))
	if l := readLines(t, r, 1)[0]; !strings.HasPrefix(l, "FAILED: Event exceeds") {
		t.Fatalf("reply %q", l)
	}
}

func TestLatin1Encoding(t *testing.T) {
	p := sluicetest.NewProcessor()
	s := start(t, p, func(c *Config) { c.Encoding = "ISO-8859-1" })
	c, r := dial(t, s)
	c.Write([]byte("caf\xe9\n"))
	readLines(t, r, 1)
	if got := string(p.Events()[0].Body); got != "café" {
		t.Fatalf("body %q", got)
	}
}

func TestManyConcurrentConnections(t *testing.T) {
	p := sluicetest.NewProcessor()
	s := start(t, p, nil)
	const clients, lines = 40, 300
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(wait))
			go func() {
				var b strings.Builder
				for j := range lines {
					fmt.Fprintf(&b, "c%d-%d\n", i, j)
				}
				c.Write([]byte(b.String()))
			}()
			r := bufio.NewReader(c)
			for j := range lines {
				if l, err := r.ReadString('\n'); err != nil || l != "OK\n" {
					errs <- fmt.Errorf("client %d line %d: %q %v", i, j, l, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	evs := p.Events()
	if len(evs) != clients*lines {
		t.Fatalf("%d events, want %d", len(evs), clients*lines)
	}
	// Each client's lines arrive in order.
	next := map[string]int{}
	for _, e := range evs {
		var ci, j int
		fmt.Sscanf(string(e.Body), "c%d-%d", &ci, &j)
		key := fmt.Sprint(ci)
		if j != next[key] {
			t.Fatalf("client %d: line %d after %d", ci, j, next[key]-1)
		}
		next[key]++
	}
	waitFor(t, func() bool { return s.counters.OpenConnection.Load() == 0 }, "OpenConnectionCount back to 0")
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStopWithOpenConnections(t *testing.T) {
	p := sluicetest.NewProcessor()
	s := start(t, p, nil)
	idle, idleR := dial(t, s)
	_ = idle
	mid, midR := dial(t, s)
	mid.Write([]byte("done\nhalf a li"))
	if l := readLines(t, midR, 1)[0]; l != "OK\n" {
		t.Fatalf("reply %q", l)
	}
	waitFor(t, func() bool { return s.counters.OpenConnection.Load() == 2 }, "two open connections")

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	expectEOF(t, idleR)
	expectEOF(t, midR)
	if n := s.counters.OpenConnection.Load(); n != 0 {
		t.Fatalf("OpenConnectionCount %d after stop", n)
	}
	if c, err := net.Dial("tcp", s.Addr().String()); err == nil {
		c.Close()
		t.Fatal("still accepting after Stop")
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestStopDeadlineCancelsStuckBatch(t *testing.T) {
	g := &gateProc{entered: make(chan struct{}, 1), release: make(chan struct{})}
	s := start(t, g, nil)
	c, r := dial(t, s)
	c.Write([]byte("stuck\n"))
	<-g.entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Stop(ctx); err == nil {
		t.Fatal("Stop reported success with a batch still in flight")
	}
	if l, err := r.ReadString('\n'); err == nil && l == "OK\n" {
		t.Fatal("uncommitted event acknowledged")
	}
	if g.committed.Load() != 0 {
		t.Fatal("batch committed after cancel")
	}
}

func TestStopWithoutStart(t *testing.T) {
	spec, _ := sluice.Lookup(sluice.KindSource, "netcat")
	env := sluicetest.SourceEnv("r1", sluicetest.NewProcessor())
	c, err := spec.New(env, &Config{Bind: "127.0.0.1", MaxLineLength: 512, Encoding: "utf-8"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.(*Source).Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.(*Source).Addr() != nil {
		t.Fatal("address before Start")
	}
}

func TestStartFailsOnTakenPort(t *testing.T) {
	s := start(t, sluicetest.NewProcessor(), nil)
	port := s.Addr().(*net.TCPAddr).Port
	spec, _ := sluice.Lookup(sluice.KindSource, "netcat")
	env := sluicetest.SourceEnv("r2", sluicetest.NewProcessor())
	c, _ := spec.New(env, &Config{Bind: "127.0.0.1", Port: port, MaxLineLength: 512, Encoding: "utf-8"})
	err := c.(*Source).Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(port)) {
		t.Fatalf("want a listen error naming the port, got %v", err)
	}
}

func TestConfig(t *testing.T) {
	spec, _ := sluice.Lookup(sluice.KindSource, "netcat")
	props := func(kv ...string) []conf.Prop {
		var out []conf.Prop
		for i := 0; i < len(kv); i += 2 {
			out = append(out, conf.Prop{Key: kv[i], FullKey: "a1.sources.r1." + kv[i], Value: kv[i+1], File: "f", Line: i})
		}
		return out
	}
	cfg := spec.Config().(*Config)
	if errs := conf.Decode(cfg, props("bind", "0.0.0.0", "port", "6666")); len(errs) != 0 {
		t.Fatal(errs)
	}
	want := Config{Bind: "0.0.0.0", Port: 6666, MaxLineLength: 512, AckEveryEvent: true, Encoding: "utf-8"}
	if *cfg != want {
		t.Fatalf("decoded %+v, want %+v", *cfg, want)
	}
	bad := []struct {
		kv   []string
		want string
	}{
		{[]string{"bind", "x"}, `required property "port"`},
		{[]string{"port", "1"}, `required property "bind"`},
		{[]string{"bind", "x", "port", "70000"}, `"70000" is not a TCP port`},
		{[]string{"bind", "x", "port", "1", "max-line-length", "0"}, "must be at least 1"},
		{[]string{"bind", "x", "port", "1", "encoding", "UTF-16"}, `"UTF-16" is not supported`},
	}
	for _, b := range bad {
		errs := conf.Decode(spec.Config(), props(b.kv...))
		if len(errs) == 0 || !strings.Contains(fmt.Sprint(errs), b.want) {
			t.Errorf("%v: got %v, want %q", b.kv, errs, b.want)
		}
	}
}

// Every complete line one read brings goes to the channels in one batch,
// however small max-line-length is: the read buffer does not shrink with
// the line limit. (A pipe hands a whole write to one read.) A connection
// starts with a 1 KiB buffer (idle connections cost little) and grows to
// 64 KiB once a read fills it: so the lines of the first KiB, then all
// the rest.
func TestOneReadIsOneBatch(t *testing.T) {
	p := sluicetest.NewProcessor()
	s := start(t, p, func(c *Config) { c.MaxLineLength = 128 })
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close() })
	client.SetDeadline(time.Now().Add(wait))
	go s.serve(server)
	const lines = 500
	in := strings.Repeat(strings.Repeat("x", 100)+"\n", lines)
	go client.Write([]byte(in))
	for i, l := range readLines(t, bufio.NewReader(client), lines) {
		if l != "OK\n" {
			t.Fatalf("reply %d: %q", i, l)
		}
	}
	if n := p.Calls(); n != 2 {
		t.Fatalf("%d lines of one write went to the channels in %d batches, want 2", lines, n)
	}
	if n := len(p.Events()); n != lines {
		t.Fatalf("%d events, want %d", n, lines)
	}
}
