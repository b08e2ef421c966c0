package kafka

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
)

// The broker stops and comes back: a put committed while it is away waits
// and succeeds once it is back (within the delivery timeout), takes resume,
// and every event is taken once.
func TestBrokerOutage(t *testing.T) {
	needBroker(t)
	tp := topic(t, 2)
	c, cnt := openCh(t, tp, "g")
	var first []*sluice.Event
	for i := range 100 {
		first = append(first, ev(fmt.Sprint("a", i)))
	}
	put(t, c, first...)
	tx := c.Begin()
	before := takeN(t, c, tx, 50)
	_ = tx.Commit()
	want := map[string]bool{"during": true, "after": true}
	for _, e := range first {
		want[string(e.Body)] = true
	}
	for _, e := range before {
		delete(want, string(e.Body))
	}

	if err := broker.Stop(); err != nil {
		t.Logf("broker stop: %v", err)
	}
	t.Cleanup(func() {
		if !broker.Running() {
			_ = broker.Restart()
		}
	})
	putDone := make(chan error, 1)
	go func() {
		tx := c.Begin()
		_ = tx.Put([]*sluice.Event{ev("during")})
		putDone <- tx.Commit()
	}()
	select {
	case err := <-putDone:
		t.Fatalf("a put committed with the broker away: %v", err)
	case <-time.After(2 * time.Second):
	}
	if err := broker.Restart(); err != nil {
		t.Fatalf("broker restart: %v", err)
	}
	select {
	case err := <-putDone:
		if err != nil {
			t.Fatalf("the put waiting through the outage failed: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the put waiting through the outage never returned")
	}
	put(t, c, ev("after"))

	seen := map[string]int{}
	deadline := time.Now().Add(2 * time.Minute)
	for len(seen) < 52 {
		tx := c.Begin()
		evs, _ := tx.Take(100)
		_ = tx.Commit()
		for _, e := range evs {
			seen[string(e.Body)]++
		}
		if len(evs) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("after the outage took %d of the 52 events left", len(seen))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for k, n := range seen {
		if n != 1 || !want[k] {
			t.Errorf("%s taken %d times after the outage (taken and committed before it: %v)", k, n, !want[k])
		}
	}
	if got := cnt.EventPutSuccess.Load(); got != 102 {
		t.Errorf("EventPutSuccessCount %d, want 102", got)
	}
}
