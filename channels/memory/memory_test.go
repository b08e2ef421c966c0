package memory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

// newChan builds a started channel named c1 from property values.
func newChan(t testing.TB, props map[string]string) (*Channel, *sluice.ChannelCounters) {
	t.Helper()
	cfg := DefaultConfig()
	var ps []conf.Prop
	for k, v := range props {
		ps = append(ps, conf.Prop{Key: k, FullKey: "a1.channels.c1." + k, Value: v})
	}
	if errs := conf.Decode(cfg, ps); len(errs) > 0 {
		t.Fatalf("decode: %v", errs)
	}
	env := sluicetest.Env("c1")
	c, err := New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c, env.ChannelCounters
}

func events(from, n int) []*sluice.Event {
	out := make([]*sluice.Event, n)
	for i := range out {
		out[i] = sluice.NewEvent([]byte(strconv.Itoa(from + i)))
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

func put(t testing.TB, c *Channel, evs []*sluice.Event) error {
	t.Helper()
	tx := c.Begin()
	if err := tx.Put(evs); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		_ = tx.Rollback()
		return err
	}
	return nil
}

func mustPut(t testing.TB, c *Channel, evs []*sluice.Event) {
	t.Helper()
	if err := put(t, c, evs); err != nil {
		t.Fatalf("put: %v", err)
	}
}

func takeAll(t testing.TB, c *Channel, max int) []*sluice.Event {
	t.Helper()
	tx := c.Begin()
	got, err := tx.Take(max)
	if err != nil {
		t.Fatalf("take: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit take: %v", err)
	}
	return got
}

func TestRegistered(t *testing.T) {
	for _, name := range []string{"memory", "MEMORY", "org.apache.flume.channel.MemoryChannel"} {
		spec, ok := sluice.Lookup(sluice.KindChannel, name)
		if !ok || spec.Name != "memory" {
			t.Fatalf("Lookup(%q) = %v, %v", name, spec, ok)
		}
	}
	spec, _ := sluice.Lookup(sluice.KindChannel, "memory")
	want := map[string]string{"capacity": "100", "transactionCapacity": "100", "keep-alive": "3", "byteCapacityBufferPercentage": "20"}
	got := map[string]string{}
	for _, f := range conf.Fields(spec.Config()) {
		got[f.Key] = f.Default
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("default %s = %q, want %q (Flume's)", k, got[k], v)
		}
	}
	if _, ok := got["byteCapacity"]; !ok {
		t.Error("byteCapacity is not a property")
	}
	v, err := spec.New(sluicetest.Env("c1"), spec.Config())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := v.(sluice.Channel); !ok {
		t.Fatalf("New returned %T, not a sluice.Channel", v)
	}
}

func TestDefaultByteCapacityFollowsMemoryLimit(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)

	t.Setenv("GOMEMLIMIT", "")
	debug.SetMemoryLimit(math.MaxInt64)
	if got := DefaultConfig().ByteCapacity; got != 0 {
		t.Errorf("without a memory limit: byteCapacity default %d, want 0 (no limit)", got)
	}
	// The agent's own collector pacing sets a limit; it is not the user's.
	debug.SetMemoryLimit(32 << 20)
	if got := DefaultConfig().ByteCapacity; got != 0 {
		t.Errorf("with a limit but no GOMEMLIMIT: byteCapacity default %d, want 0 (no limit)", got)
	}
	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(1 << 30) // what the runtime reads from GOMEMLIMIT at start
	if got, want := DefaultConfig().ByteCapacity, int64(1<<30)/10*8; got != want {
		t.Errorf("with GOMEMLIMIT=1GiB: byteCapacity default %d, want %d", got, want)
	}
}

func TestConfig(t *testing.T) {
	cases := []struct {
		name  string
		props map[string]string
		errs  []string // substrings, one per expected error
	}{
		{"defaults", nil, nil},
		{"keep-alive seconds", map[string]string{"keep-alive": "1"}, nil},
		{"keep-alive duration", map[string]string{"keep-alive": "200ms"}, nil},
		{"keep-alive junk", map[string]string{"keep-alive": "soon"}, []string{`"soon" is not a number of seconds`}},
		{"zero capacity", map[string]string{"capacity": "0", "transactionCapacity": "1"}, []string{`a1.channels.c1.capacity (f.conf:7): "0" must be greater than 0`}},
		{"zero transactionCapacity", map[string]string{"transactionCapacity": "0"}, []string{`a1.channels.c1.transactionCapacity (f.conf:7): "0" must be greater than 0`}},
		{"transaction larger than channel", map[string]string{"capacity": "10", "transactionCapacity": "11"}, []string{`"11" is larger than capacity 10`}},
		{"negative byteCapacity", map[string]string{"byteCapacity": "-1"}, []string{`a1.channels.c1.byteCapacity (f.conf:7): "-1" must not be negative`}},
		{"buffer over 100", map[string]string{"byteCapacityBufferPercentage": "101"}, []string{`"101" must be between 0 and 100`}},
		{"several at once", map[string]string{"capacity": "-5", "byteCapacity": "-1"}, []string{"capacity", "byteCapacity"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			var ps []conf.Prop
			for k, v := range tc.props {
				ps = append(ps, conf.Prop{Key: k, FullKey: "a1.channels.c1." + k, Value: v, File: "f.conf", Line: 7})
			}
			errs := conf.Decode(cfg, ps)
			if len(errs) != len(tc.errs) {
				t.Fatalf("got %d errors %v, want %d", len(errs), errs, len(tc.errs))
			}
			all := fmt.Sprint(errs)
			for _, want := range tc.errs {
				if !strings.Contains(all, want) {
					t.Errorf("errors %q do not mention %q", all, want)
				}
			}
		})
	}
	c, _ := newChan(t, map[string]string{"keep-alive": "200ms"})
	if c.keepAlive != 200*time.Millisecond {
		t.Errorf("keep-alive 200ms decoded as %v", c.keepAlive)
	}
	c, _ = newChan(t, map[string]string{"keep-alive": "1"})
	if c.keepAlive != time.Second {
		t.Errorf("keep-alive 1 decoded as %v", c.keepAlive)
	}
}

func TestPutsVisibleOnlyAfterCommit(t *testing.T) {
	c, _ := newChan(t, nil)
	tx := c.Begin()
	if err := tx.Put(events(0, 3)); err != nil {
		t.Fatal(err)
	}
	if got := takeAll(t, c, 10); len(got) != 0 {
		t.Fatalf("uncommitted puts visible to a taker: %v", bodies(got))
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := bodies(takeAll(t, c, 10)); fmt.Sprint(got) != "[0 1 2]" {
		t.Fatalf("took %v, want [0 1 2]", got)
	}
}

func TestPutCopiesCallerSlice(t *testing.T) {
	c, _ := newChan(t, nil)
	batch := events(0, 2)
	tx := c.Begin()
	if err := tx.Put(batch); err != nil {
		t.Fatal(err)
	}
	batch[0] = sluice.NewEvent([]byte("changed"))
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := bodies(takeAll(t, c, 10)); fmt.Sprint(got) != "[0 1]" {
		t.Fatalf("took %v: the channel kept the caller's slice instead of copying it", got)
	}
}

func TestCapacityPushBack(t *testing.T) {
	c, cnt := newChan(t, map[string]string{"capacity": "10", "transactionCapacity": "10", "keep-alive": "20ms"})
	mustPut(t, c, events(0, 10))

	err := put(t, c, events(10, 1))
	if !errors.Is(err, sluice.ErrChannelFull) {
		t.Fatalf("commit into a full channel: %v, want ErrChannelFull", err)
	}
	const want = "channel c1: no room for 1 events within keep-alive 20ms (capacity 10, size 10)"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to contain %q", err, want)
	}

	// A batch that does not fit is refused whole: nothing of it is committed.
	got := takeAll(t, c, 5)
	err = put(t, c, events(100, 6))
	if !errors.Is(err, sluice.ErrChannelFull) {
		t.Fatalf("commit of 6 into 5 free: %v, want ErrChannelFull", err)
	}
	if c.Size() != 5 {
		t.Fatalf("size %d after a refused batch, want 5 (no partial commit)", c.Size())
	}
	got = append(got, takeAll(t, c, 10)...)
	if fmt.Sprint(bodies(got)) != "[0 1 2 3 4 5 6 7 8 9]" {
		t.Fatalf("channel holds %v", bodies(got))
	}
	if n := cnt.EventPutSuccess.Load(); n != 10 {
		t.Errorf("EventPutSuccessCount %d, want 10", n)
	}
}

func TestUncommittedTakesHoldCapacity(t *testing.T) {
	c, _ := newChan(t, map[string]string{"capacity": "4", "transactionCapacity": "4", "keep-alive": "0"})
	mustPut(t, c, events(0, 4))
	tx := c.Begin()
	if got, _ := tx.Take(4); len(got) != 4 {
		t.Fatalf("took %d", len(got))
	}
	err := put(t, c, events(4, 1))
	if err == nil || !strings.Contains(err.Error(), "(capacity 4, size 0, 4 more taken and not yet committed)") {
		t.Fatalf("put while takes are uncommitted: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	mustPut(t, c, events(4, 4))
}

// waitForWaiter spins until a commit is blocked waiting for room: that
// commit has created c.room. It synchronises the test; it asserts nothing.
func waitForWaiter(c *Channel) {
	for {
		c.mu.Lock()
		w := c.room != nil
		c.mu.Unlock()
		if w {
			return
		}
		runtime.Gosched()
	}
}

func TestCommitWaitsForRoom(t *testing.T) {
	c, _ := newChan(t, map[string]string{"capacity": "3", "transactionCapacity": "3", "keep-alive": "10m"})
	mustPut(t, c, events(0, 3))
	done := make(chan error, 1)
	go func() { done <- put(t, c, events(3, 2)) }()
	waitForWaiter(c)

	takeAll(t, c, 1) // room for one: not enough, the commit keeps waiting
	select {
	case err := <-done:
		t.Fatalf("commit of 2 returned with room for 1: %v", err)
	default:
	}
	takeAll(t, c, 1)
	if err := <-done; err != nil {
		t.Fatalf("commit after room was made: %v", err)
	}
	if got := fmt.Sprint(bodies(takeAll(t, c, 3))); got != "[2 3 4]" {
		t.Fatalf("channel holds %s, want [2 3 4]", got)
	}
}

func TestStop(t *testing.T) {
	c, _ := newChan(t, map[string]string{"capacity": "2", "transactionCapacity": "2", "keep-alive": "10m"})
	mustPut(t, c, events(0, 2))
	waiting := make(chan error, 1)
	go func() { waiting <- put(t, c, events(2, 1)) }()
	waitForWaiter(c)

	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := <-waiting; !errors.Is(err, sluice.ErrClosed) {
		t.Fatalf("commit waiting when the channel stopped: %v, want ErrClosed", err)
	}
	tx := c.Begin()
	if err := tx.Put(events(9, 1)); !errors.Is(err, sluice.ErrClosed) || !strings.Contains(err.Error(), "channel c1") {
		t.Fatalf("put after stop: %v, want ErrClosed naming c1", err)
	}
	_ = tx.Rollback()

	// Sinks can still drain, including a take that rolls back.
	tx = c.Begin()
	if got, _ := tx.Take(1); len(got) != 1 {
		t.Fatal("take after stop returned nothing")
	}
	_ = tx.Rollback()
	if got := fmt.Sprint(bodies(takeAll(t, c, 2))); got != "[0 1]" {
		t.Fatalf("drained %s after stop, want [0 1]", got)
	}

	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	mustPut(t, c, events(5, 1))
}

func TestStopWithoutStart(t *testing.T) {
	c, err := New(sluicetest.Env("c1"), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func body(n int) *sluice.Event { return sluice.NewEvent(bytes.Repeat([]byte("x"), n)) }

func TestByteCapacity(t *testing.T) {
	// 1000 bytes less 20% = 800 bytes = 8 slots of 100.
	c, _ := newChan(t, map[string]string{"byteCapacity": "1000", "keep-alive": "0"})
	if c.slotCap != 8 {
		t.Fatalf("slot limit %d, want 8", c.slotCap)
	}
	// 100 bytes is one slot, 101 two, an empty body one.
	mustPut(t, c, []*sluice.Event{body(100), body(101), body(0), body(1), body(250)})
	if c.slots != 1+2+1+1+3 {
		t.Fatalf("slots in use %d, want 8", c.slots)
	}
	err := put(t, c, []*sluice.Event{body(0)})
	if !errors.Is(err, sluice.ErrChannelFull) || !strings.Contains(err.Error(), "byteCapacity 1000 less 20% buffer = 8 slots, 8 in use") {
		t.Fatalf("put past byteCapacity: %v", err)
	}
	tx := c.Begin()
	if _, err := tx.Take(2); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback() // returned takes keep their slots
	if c.slots != 8 {
		t.Fatalf("slots %d after a rolled-back take, want 8", c.slots)
	}
	takeAll(t, c, 2) // frees 1+2 slots
	mustPut(t, c, []*sluice.Event{body(300)})
	if c.slots != 8 {
		t.Fatalf("slots %d, want 8", c.slots)
	}

	// A batch bigger than the whole limit can never fit: refused at once.
	c2, _ := newChan(t, map[string]string{"byteCapacity": "1000", "keep-alive": "10m"})
	err = put(t, c2, []*sluice.Event{body(900)})
	if !errors.Is(err, sluice.ErrChannelFull) || !strings.Contains(err.Error(), "more than the whole byteCapacity") {
		t.Fatalf("oversized batch: %v", err)
	}
}

func TestByteCapacityBelowOneSlotIsUnlimited(t *testing.T) {
	// As in Flume: 100 bytes less 20% is under one slot, so no byte limit.
	c, _ := newChan(t, map[string]string{"byteCapacity": "100"})
	if c.slotCap != 0 {
		t.Fatalf("slot limit %d, want 0 (none)", c.slotCap)
	}
	mustPut(t, c, []*sluice.Event{body(100000)})
}

func TestTransactionCapacity(t *testing.T) {
	c, cnt := newChan(t, map[string]string{"capacity": "100", "transactionCapacity": "10"})
	tx := c.Begin()
	if err := tx.Put(events(0, 6)); err != nil {
		t.Fatal(err)
	}
	err := tx.Put(events(6, 5))
	if !errors.Is(err, sluice.ErrTxnCapacity) {
		t.Fatalf("put past transactionCapacity: %v, want ErrTxnCapacity", err)
	}
	if !strings.Contains(err.Error(), "channel c1") || !strings.Contains(err.Error(), "transactionCapacity 10") {
		t.Errorf("error %q should name the channel and the limit", err)
	}
	if n := cnt.EventPutAttempt.Load(); n != 6+5 {
		t.Errorf("EventPutAttemptCount %d, want 11 (6, then 4 that fit and the one that overflowed)", n)
	}
	if err := tx.Put(events(6, 4)); err != nil {
		t.Fatalf("filling up to the limit: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tx = c.Begin()
	if _, err := tx.Take(11); !errors.Is(err, sluice.ErrTxnCapacity) {
		t.Fatalf("take of 11 with transactionCapacity 10: %v", err)
	}
	if got, _ := tx.Take(7); len(got) != 7 {
		t.Fatalf("took %d", len(got))
	}
	if _, err := tx.Take(4); !errors.Is(err, sluice.ErrTxnCapacity) {
		t.Fatalf("second take past the limit: %v", err)
	}
	_ = tx.Rollback()
	if c.TransactionCapacity() != 10 {
		t.Errorf("TransactionCapacity() = %d", c.TransactionCapacity())
	}
}

func TestRollbackOrder(t *testing.T) {
	c, _ := newChan(t, map[string]string{"capacity": "64", "transactionCapacity": "20"})
	// Wrap the ring around first, so the rollback crosses its end.
	for i := 0; i < 3; i++ {
		mustPut(t, c, events(1000, 11))
		takeAll(t, c, 11)
	}
	mustPut(t, c, events(0, 10))
	tx := c.Begin()
	a, _ := tx.Take(3)
	b, _ := tx.Take(4)
	if fmt.Sprint(bodies(a), bodies(b)) != "[0 1 2] [3 4 5 6]" {
		t.Fatalf("took %v %v", bodies(a), bodies(b))
	}
	// Another transaction commits puts meanwhile: they stay behind.
	mustPut(t, c, events(10, 2))
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	got := bodies(takeAll(t, c, 20))
	if fmt.Sprint(got) != "[0 1 2 3 4 5 6 7 8 9 10 11]" {
		t.Fatalf("after rollback the channel holds %v", got)
	}
}

func TestFinishedTransactions(t *testing.T) {
	c, _ := newChan(t, nil)
	mustPut(t, c, events(0, 3))

	tx := c.Begin()
	if got, _ := tx.Take(1); len(got) != 1 {
		t.Fatal("no event")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Errorf("second Commit: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Errorf("Rollback after Commit: %v", err)
	}
	if c.Size() != 2 {
		t.Fatalf("Rollback after Commit undid the take: size %d", c.Size())
	}
	if _, err := tx.Take(1); err == nil {
		t.Error("Take on a committed transaction succeeded")
	}

	tx = c.Begin()
	_ = tx.Put(events(5, 1))
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Errorf("second Rollback: %v", err)
	}
	// Commit must not report success for puts that were discarded.
	if err := tx.Commit(); err == nil {
		t.Error("Commit after Rollback reported success")
	}
	if err := tx.Put(events(6, 1)); err == nil {
		t.Error("Put on a rolled-back transaction succeeded")
	}
	if c.Size() != 2 {
		t.Fatalf("size %d, want 2", c.Size())
	}

	// After a failed commit, Rollback is harmless and Commit repeats the error.
	f, _ := newChan(t, map[string]string{"capacity": "1", "transactionCapacity": "1", "keep-alive": "0"})
	mustPut(t, f, events(0, 1))
	tx = f.Begin()
	_ = tx.Put(events(1, 1))
	err := tx.Commit()
	if !errors.Is(err, sluice.ErrChannelFull) {
		t.Fatalf("commit: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Errorf("Rollback after a failed Commit: %v", err)
	}
	if err2 := tx.Commit(); !errors.Is(err2, sluice.ErrChannelFull) {
		t.Errorf("Commit again after failure: %v", err2)
	}
}

func TestNotifier(t *testing.T) {
	c, _ := newChan(t, nil)
	r1, r2 := c.Ready(), c.Ready()
	if r1 != r2 {
		t.Fatal("two waiters before a commit got different channels")
	}
	isClosed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	// Neither a rolled-back put nor a committed take is new data.
	tx := c.Begin()
	_ = tx.Put(events(0, 1))
	_ = tx.Rollback()
	takeAll(t, c, 1)
	if isClosed(r1) {
		t.Fatal("Ready closed without a commit of puts")
	}

	woke := make(chan struct{})
	go func() { <-r1; close(woke) }()
	mustPut(t, c, events(0, 1))
	<-woke // a commit of puts wakes every waiter
	if !isClosed(r2) {
		t.Fatal("second waiter's channel not closed")
	}
	r3 := c.Ready()
	if isClosed(r3) {
		t.Fatal("Ready after the commit returned an already-closed channel")
	}
	mustPut(t, c, events(1, 1))
	if !isClosed(r3) {
		t.Fatal("the next commit did not close the replacement channel")
	}
}

func TestCounters(t *testing.T) {
	c, cnt := newChan(t, map[string]string{"capacity": "50", "transactionCapacity": "10"})
	mustPut(t, c, events(0, 5))
	tx := c.Begin()
	_ = tx.Put(events(5, 3))
	_ = tx.Rollback()
	tx = c.Begin()
	_, _ = tx.Take(2)
	_ = tx.Rollback()
	takeAll(t, c, 10) // 5 events, then ran dry: 6 attempts
	takeAll(t, c, 10) // empty: 1 attempt
	mustPut(t, c, events(8, 2))

	want := map[string]string{
		"EventPutAttemptCount":  "10",
		"EventPutSuccessCount":  "7",
		"EventTakeAttemptCount": "9",
		"EventTakeSuccessCount": "5",
		"ChannelSize":           "2",
		"ChannelCapacity":       "50",
		"ChannelFillPercentage": "4.0",
		"Type":                  "CHANNEL",
	}
	snap := cnt.Snapshot()
	for k, v := range want {
		if snap[k] != v {
			t.Errorf("%s = %q, want %q", k, snap[k], v)
		}
	}
	if snap["StartTime"] == "0" {
		t.Error("StartTime not set by Start")
	}
	_ = c.Stop(context.Background())
	if cnt.Snapshot()["StopTime"] == "0" {
		t.Error("StopTime not set by Stop")
	}
}
