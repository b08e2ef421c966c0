package processor

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
)

func newTestLB(t *testing.T, props map[string]string, sinks ...*fakeSink) (*LoadBalance, *clock) {
	t.Helper()
	lb := mustBuild(t, "load_balance", props, sinks...).(*LoadBalance)
	c := newClock()
	lb.now = c.now
	return lb, c
}

func TestLoadBalanceRoundRobinOrder(t *testing.T) {
	s, log := group("k1", "k2", "k3")
	lb, _ := newTestLB(t, nil, s...)
	for range 7 {
		process(t, lb)
	}
	want := []string{"k1", "k2", "k3", "k1", "k2", "k3", "k1"}
	if got := log.take(); !slices.Equal(got, want) {
		t.Fatalf("called %v, want %v", got, want)
	}
}

func TestLoadBalanceTriesNextSinkInSameCall(t *testing.T) {
	s, log := group("k1", "k2", "k3")
	lb, _ := newTestLB(t, nil, s...)
	s[0].fail(errDown)
	if st := process(t, lb); st != sluice.Ready {
		t.Fatalf("status %v, want READY", st)
	}
	// Without backoff the failed sink stays in the rotation.
	process(t, lb)
	process(t, lb)
	process(t, lb)
	want := []string{"k1", "k2", "k2", "k3", "k1", "k2"}
	if got := log.take(); !slices.Equal(got, want) {
		t.Fatalf("called %v, want %v", got, want)
	}
}

func TestLoadBalanceBackoffStatusEndsTheCall(t *testing.T) {
	s, log := group("k1", "k2")
	lb, _ := newTestLB(t, nil, s...)
	s[0].setStatus(sluice.Backoff)
	if st := process(t, lb); st != sluice.Backoff {
		t.Fatalf("status %v, want BACKOFF from k1", st)
	}
	if got := log.take(); !slices.Equal(got, []string{"k1"}) {
		t.Fatalf("called %v, want only k1", got)
	}
}

func TestLoadBalanceRandomCoversAllSinks(t *testing.T) {
	s, log := group("k1", "k2", "k3")
	lb, _ := newTestLB(t, map[string]string{"selector": "RANDOM"}, s...)
	if !lb.sel.random {
		t.Fatal("selector RANDOM did not choose the random selector")
	}
	lb.sel.rng = rand.New(rand.NewPCG(1, 2))
	first := map[string]int{}
	for range 300 {
		process(t, lb)
		got := log.take()
		if len(got) != 1 {
			t.Fatalf("one call used %v, want exactly one sink", got)
		}
		first[got[0]]++
	}
	for _, n := range []string{"k1", "k2", "k3"} {
		if first[n] < 50 {
			t.Errorf("sink %s chosen %d times of 300", n, first[n])
		}
	}
	// When sinks fail, a call still tries every sink once.
	for _, x := range s {
		x.fail(errDown)
	}
	_, err := lb.Process(context.Background())
	wantErrContains(t, err, "every sink has failed")
	got := log.take()
	slices.Sort(got)
	if !slices.Equal(got, []string{"k1", "k2", "k3"}) {
		t.Fatalf("failing call tried %v, want each sink once", got)
	}
}

func TestLoadBalanceBackoffBlacklists(t *testing.T) {
	s, log := group("k1", "k2")
	lb, clk := newTestLB(t, map[string]string{"backoff": "true", "selector.maxTimeOut": "10000"}, s...)
	s[0].fail(errDown)
	process(t, lb) // k1 fails, k2 delivers; k1 out for 2s
	if got := log.take(); !slices.Equal(got, []string{"k1", "k2"}) {
		t.Fatalf("called %v", got)
	}
	// Blacklist lengths double while failures recur, up to maxTimeOut.
	for _, d := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		clk.advance(d)
		for range 3 {
			process(t, lb)
		}
		if got := log.take(); slices.Contains(got, "k1") {
			t.Fatalf("k1 tried during its %v blacklisting: %v", d, got)
		}
		clk.advance(time.Millisecond)
		for range 2 { // round robin may start with k2 first
			process(t, lb)
		}
		if got := log.take(); !slices.Contains(got, "k1") {
			t.Fatalf("k1 not tried after its %v blacklisting: %v", d, got)
		}
		// Its retry failed at the current (frozen) time: the next, longer
		// blacklisting counts from here.
	}
	// A sink that recovers is used again.
	s[0].fail(nil)
	clk.advance(10*time.Second + time.Millisecond)
	process(t, lb)
	process(t, lb)
	if got := log.take(); !slices.Contains(got, "k1") {
		t.Fatalf("recovered k1 not used: %v", got)
	}
}

func TestLoadBalanceBackoffResetsAfterQuietHour(t *testing.T) {
	sel := orderSelector{backoff: true, maxTimeout: 30 * time.Second, state: make([]failState, 1)}
	t0 := newClock().now()
	sel.informFailure(0, t0)
	sel.informFailure(0, t0.Add(3*time.Second))
	if got := sel.state[0].restore.Sub(t0.Add(3 * time.Second)); got != 4*time.Second {
		t.Fatalf("second failure blacklisted for %v, want 4s", got)
	}
	// Within an hour of the end of the previous blacklisting: still counts.
	t1 := t0.Add(3*time.Second + 4*time.Second + time.Hour - time.Millisecond)
	sel.informFailure(0, t1)
	if got := sel.state[0].restore.Sub(t1); got != 8*time.Second {
		t.Fatalf("third failure blacklisted for %v, want 8s", got)
	}
	// Later than that: a fresh failure.
	t2 := t1.Add(8*time.Second + time.Hour)
	sel.informFailure(0, t2)
	if got := sel.state[0].restore.Sub(t2); got != 2*time.Second {
		t.Fatalf("fresh failure blacklisted for %v, want 2s", got)
	}
	// The exponent stops at 16.
	for range 40 {
		sel.informFailure(0, t2)
	}
	if sel.state[0].fails != 16 {
		t.Fatalf("fails = %d, want the cap 16", sel.state[0].fails)
	}
}

func TestLoadBalanceAllFail(t *testing.T) {
	s, log := group("k1", "k2")
	lb, clk := newTestLB(t, map[string]string{"backoff": "true"}, s...)
	s[0].fail(errDown)
	s[1].fail(sluice.ErrClosed)
	_, err := lb.Process(context.Background())
	wantErrContains(t, err, "load_balance", "every sink has failed", "k1", "k2", "peer down", "retry in 2s")
	if !errors.Is(err, errDown) || !errors.Is(err, sluice.ErrClosed) {
		t.Errorf("error %v does not wrap the sinks' errors", err)
	}
	log.take()
	// All blacklisted: no sink is called, the error says when they return.
	clk.advance(500 * time.Millisecond)
	_, err = lb.Process(context.Background())
	wantErrContains(t, err, "every sink is backed off", "k1 (retry in 1.5s)", "k2 (retry in 1.5s)")
	if got := log.take(); len(got) != 0 {
		t.Fatalf("called %v while all were blacklisted", got)
	}
}

func TestLoadBalanceMaxTimeOutZeroMeansDefault(t *testing.T) {
	s, _ := group("k1", "k2")
	lb, _ := newTestLB(t, map[string]string{"selector.maxTimeOut": "0"}, s...)
	if lb.sel.maxTimeout != 30*time.Second {
		t.Fatalf("maxTimeout %v, want 30s", lb.sel.maxTimeout)
	}
}

func TestLoadBalanceStoppingDoesNotBlacklist(t *testing.T) {
	s, log := group("k1", "k2")
	lb, _ := newTestLB(t, map[string]string{"backoff": "true"}, s...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s[0].hook = cancel
	s[0].fail(context.Canceled)
	if _, err := lb.Process(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want the cancellation", err)
	}
	if !lb.sel.state[0].restore.IsZero() {
		t.Fatal("k1 blacklisted by a failure during shutdown")
	}
	if got := log.take(); !slices.Equal(got, []string{"k1"}) {
		t.Fatalf("called %v, want k1 only", got)
	}
}
