package netcat

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluiceio/sluice/sluicetest"
)

// TestLinesInFlightBounded: with max-line-length 100,000, ten connections
// each send 90 KB of a line with no end and stall. Their buffers come
// from max-bytes-in-flight (1 MiB): the budget never goes over, the
// connections that find no room are told FAILED and closed (counted,
// logged once for the burst), a normal client's lines are answered OK
// meanwhile, and every byte is given back when the connections end.
func TestLinesInFlightBounded(t *testing.T) {
	old := budgetWait
	budgetWait = 500 * time.Millisecond
	t.Cleanup(func() { budgetWait = old })
	const limit = 1 << 20
	cfg := defaults()
	cfg.Bind, cfg.Port, cfg.MaxLineLength, cfg.MaxBytesInFlight = "127.0.0.1", 0, 100_000, limit
	proc := sluicetest.NewProcessor()
	env := sluicetest.SourceEnv("r1", proc)
	lb := &sluicetest.LogBuf{}
	env.Logger = lb.Logger()
	s, err := New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })

	good, goodR := dial(t, s)
	var wg sync.WaitGroup
	var mu sync.Mutex
	answers := map[string]int{}
	release := make(chan struct{})
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(wait))
			c.Write([]byte(strings.Repeat("x", 90_000)))
			got := make(chan string, 1)
			go func() {
				l, _ := bufio.NewReader(c).ReadString('\n')
				got <- l
			}()
			var l string
			select {
			case l = <-got:
			case <-release:
				l = "(still open)"
			}
			mu.Lock()
			answers[strings.SplitN(l, ":", 2)[0]]++
			mu.Unlock()
		}()
	}
	// The stalled lines take what the budget has; some are refused.
	waitFor(t, func() bool { return s.counters.EventReadFail.Load() > 0 }, "a line refused for want of budget")
	for i := 0; i < 20; i++ {
		good.Write([]byte("hello\n"))
		if l := readLines(t, goodR, 1)[0]; l != "OK\n" {
			t.Fatalf("the normal client got %q while lines stalled", l)
		}
	}
	close(release)
	wg.Wait()
	t.Logf("budget peak %d of %d; stalled connections' answers %v", s.budget.Peak(), limit, answers)
	if p := s.budget.Peak(); p > limit || p < limit/2 {
		t.Errorf("budget peak %d, want between %d and %d", p, limit/2, limit)
	}
	if answers["FAILED"] == 0 {
		t.Errorf("no stalled connection was told FAILED: %v", answers)
	}
	waitFor(t, func() bool { return s.budget.Used() == 0 }, "every byte of the budget given back")
	if n := len(lb.Lines("max-bytes-in-flight reached")); n != 1 {
		t.Errorf("%d refusal lines for one burst, want 1:\n%s", n, lb.String())
	}
	if n := len(proc.Events()); n != 20 {
		t.Errorf("%d events, want the normal client's 20", n)
	}
}
