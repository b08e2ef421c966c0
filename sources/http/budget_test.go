package http

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluiceio/sluice/sluicetest"
)

// stallBody sends a POST claiming claim bytes of body, sends send of them
// and stops; it returns the status line the source answered with (or ""
// if it closed without one).
func stallBody(addr string, claim, send int) string {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", claim)
	chunk := []byte(strings.Repeat(" ", 1<<20))
	for sent := 0; sent < send; sent += len(chunk) {
		if _, err := c.Write(chunk); err != nil {
			break // the source gave up on this request
		}
	}
	b := make([]byte, 64)
	n, _ := c.Read(b)
	line, _, _ := strings.Cut(string(b[:n]), "\r\n")
	return line
}

// TestBytesInFlightBounded: ten requests each announce a 15 MB body and
// stall after 12 MB. The source holds at most max-bytes-in-flight for
// them (its heap grows by about the budget, not by the 120 MB sent);
// bodies past it wait and are answered 503 when no room comes (counted,
// logged once for the burst); a normal client is served meanwhile.
func TestBytesInFlightBounded(t *testing.T) {
	const limit = 24 << 20
	cfg := defaults()
	cfg.Bind, cfg.Port = "127.0.0.1", 0
	cfg.MaxBytesInFlight, cfg.ReadTimeout, cfg.MaxBodySize = limit, 2*time.Second, 32<<20
	env := sluicetest.SourceEnv("r1", sluicetest.NewProcessor())
	lb := &sluicetest.LogBuf{}
	env.Logger = lb.Logger()
	src, err := New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer src.Stop(context.Background())
	addr := src.Addr().String()
	f := &fixture{t: t, src: src, env: env, url: "http://" + addr + "/"}
	base := sluicetest.HeapInUse()
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[string]int{}
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stallBody(addr, 15_000_000, 12<<20)
			mu.Lock()
			statuses[s]++
			mu.Unlock()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var peak int64
	served := 0
	deadline := time.After(2 * time.Minute)
sample:
	for {
		peak = max(peak, sluicetest.HeapInUse()-base)
		if code, _, _ := f.do("POST", "application/json", fmt.Sprintf(`[{"body":"during %d"}]`, served)); code == 200 {
			served++
		}
		select {
		case <-done:
			break sample
		case <-deadline:
			t.Fatal("stalled requests still open after 2 minutes")
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Logf("heap grew at most %.1f MB; budget peak %.1f MB of %d MB; answers to the stalled requests %v; %d requests of a normal client served meanwhile",
		float64(peak)/(1<<20), float64(f.src.budget.Peak())/(1<<20), limit>>20, statuses, served)
	if p := f.src.budget.Peak(); p > limit || p < limit/2 {
		t.Errorf("budget peak %d, want between %d and the limit %d", p, limit/2, limit)
	}
	if bound := int64(2*limit + 24<<20); peak > bound {
		t.Errorf("heap grew by %d bytes for stalled bodies, over %d", peak, bound)
	}
	if statuses["HTTP/1.1 503 Service Unavailable"] == 0 {
		t.Errorf("no stalled request was answered 503 for want of budget: %v", statuses)
	}
	if served == 0 {
		t.Error("the normal client was not served while the bodies stalled")
	}
	if u := f.src.budget.Used(); u != 0 {
		t.Errorf("%d bytes still held after every request ended", u)
	}
	if n := len(lb.Lines("max-bytes-in-flight reached")); n != 1 {
		t.Errorf("%d refusal lines for one burst, want 1 (rate-limited):\n%s", n, lb.String())
	}
	if code, _, _ := f.do("POST", "application/json", `[{"body":"after"}]`); code != 200 {
		t.Fatalf("a normal request after the stall: %d", code)
	}
}

// A Content-Length over the whole budget is answered 503 at once.
func TestBodyOverBudgetRefused(t *testing.T) {
	f := start(t, nil, func(c *Config) { c.MaxBytesInFlight = 1 << 20 })
	code, msg, h := f.do("POST", "application/json", `[{"body":"`+strings.Repeat("x", 2<<20)+`"}]`)
	if code != 503 || !strings.Contains(msg, "max-bytes-in-flight") || h.Get("Retry-After") == "" {
		t.Fatalf("answered %d %q (Retry-After %q), want 503 naming max-bytes-in-flight", code, msg, h.Get("Retry-After"))
	}
	if u := f.src.budget.Used(); u != 0 {
		t.Errorf("%d bytes still held", u)
	}
	if code, _, _ := f.do("POST", "application/json", `[{"body":"small"}]`); code != 200 {
		t.Fatalf("a small request after: %d", code)
	}
}
