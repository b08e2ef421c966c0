package kafka

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/kafkaclient"
)

func TestRoundTripKeepsHeadersAndKey(t *testing.T) {
	needBroker(t)
	tp := topic(t, 1)
	c, cnt := openCh(t, tp, "g")
	put(t, c, ev("one", "h1", "v1", "key", "k1"), ev("two", "h2", "v2"), ev("", "empty", ""))
	tx := c.Begin()
	got := takeN(t, c, tx, 3)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	want := []string{"one map[h1:v1 key:k1]", "two map[h2:v2]", " map[empty:]"}
	for i, e := range got {
		if s := fmt.Sprintf("%s %v", e.Body, e.Headers); s != want[i] {
			t.Errorf("event %d: %s, want %s", i, s, want[i])
		}
	}
	// The key header became the record key.
	raw := readRaw(t, tp, 3)
	if string(raw[0].Key) != "k1" || raw[1].Key != nil {
		t.Errorf("record keys %q %q", raw[0].Key, raw[1].Key)
	}
	snap := cnt.Snapshot()
	for k, v := range map[string]string{"EventPutAttemptCount": "3", "EventPutSuccessCount": "3",
		"EventTakeAttemptCount": "3", "EventTakeSuccessCount": "3", "RollbackCount": "0", "ChannelSize": "0"} {
		if snap[k] != v {
			t.Errorf("%s = %s, want %s", k, snap[k], v)
		}
	}

	// The take committed the group's offsets: a new instance of the
	// channel in the same group sees only what comes after.
	stop(t, c)
	c2, _ := openCh(t, tp, "g")
	put(t, c2, ev("after"))
	if got := takeUntil(t, c2, "after"); len(got) != 1 {
		t.Errorf("the second instance got %d events; the committed ones came again", len(got))
	}
}

func TestTakeRollbackHandsOutAgainFirst(t *testing.T) {
	needBroker(t)
	tp := topic(t, 1)
	c, cnt := openCh(t, tp, "g")
	put(t, c, ev("a"), ev("b"), ev("c"))
	tx := c.Begin()
	first := takeN(t, c, tx, 2)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	tx = c.Begin()
	again := takeN(t, c, tx, 3)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if s := bodiesOf(first) + "|" + bodiesOf(again); s != "a b |a b c " {
		t.Errorf("took %q", s)
	}
	snap := cnt.Snapshot()
	if snap["RollbackCount"] != "2" || snap["EventTakeSuccessCount"] != "3" || snap["EventTakeAttemptCount"] != "3" {
		t.Errorf("counters %v", snap)
	}
}

func bodiesOf(evs []*sluice.Event) string {
	var b strings.Builder
	for _, e := range evs {
		b.Write(e.Body)
		b.WriteByte(' ')
	}
	return b.String()
}

func TestUncommittedPutIsNeverSeen(t *testing.T) {
	needBroker(t)
	tp := topic(t, 1)
	c, cnt := openCh(t, tp, "g")
	tx := c.Begin()
	if err := tx.Put([]*sluice.Event{ev("rolled back")}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	open := c.Begin()
	if err := open.Put([]*sluice.Event{ev("never committed")}); err != nil {
		t.Fatal(err)
	}
	put(t, c, ev("marker"))
	got := takeUntil(t, c, "marker")
	if len(got) != 1 {
		t.Errorf("took %q; only the marker was committed", bodiesOf(got))
	}
	if raw := readRaw(t, tp, 1); string(raw[0].Value) == "" || len(raw) != 1 {
		t.Errorf("topic holds %d records", len(raw))
	}
	_ = open.Rollback()
	if cnt.EventPutSuccess.Load() != 1 {
		t.Errorf("EventPutSuccessCount %d", cnt.EventPutSuccess.Load())
	}
}

func TestParseAsFlumeEventFalseWritesBodiesOnly(t *testing.T) {
	needBroker(t)
	tp := topic(t, 1)
	c, _ := openCh(t, tp, "g", "parseAsFlumeEvent", "false")
	put(t, c, ev("plain body", "h", "lost", "key", "k"))
	raw := readRaw(t, tp, 1)
	if string(raw[0].Value) != "plain body" || string(raw[0].Key) != "k" {
		t.Errorf("record value %q key %q", raw[0].Value, raw[0].Key)
	}
	tx := c.Begin()
	got := takeN(t, c, tx, 1)
	_ = tx.Commit()
	if string(got[0].Body) != "plain body" || fmt.Sprint(got[0].Headers) != "map[key:k]" {
		t.Errorf("took %q %v; headers other than the key are not kept", got[0].Body, got[0].Headers)
	}
}

func TestFlumeFormatIsRawAvro(t *testing.T) {
	needBroker(t)
	tp := topic(t, 1)
	c, _ := openCh(t, tp, "g")
	put(t, c, ev("body", "h", "v"))
	raw := readRaw(t, tp, 1)
	e, err := kafkaclient.DecodeFlumeEvent(raw[0].Value)
	if err != nil || string(e.Body) != "body" || e.Headers["h"] != "v" {
		t.Errorf("record value is not an AvroFlumeEvent: %v %v", e, err)
	}
}

func TestStopWithoutCommitHandsTakesOutAgain(t *testing.T) {
	needBroker(t)
	tp := topic(t, 1)
	c1, _ := build(t, tp, "crash")
	if err := c1.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	put(t, c1, ev("1"), ev("2"), ev("3"), ev("4"), ev("5"))
	tx := c1.Begin()
	done := takeN(t, c1, tx, 2)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	open := c1.Begin()
	taken := takeN(t, c1, open, 3)
	// The agent goes away with the take open: no commit, no rollback.
	stop(t, c1)

	c2, _ := openCh(t, tp, "crash")
	tx = c2.Begin()
	again := takeN(t, c2, tx, 3)
	_ = tx.Commit()
	if s := bodiesOf(done) + "|" + bodiesOf(taken) + "|" + bodiesOf(again); s != "1 2 |3 4 5 |3 4 5 " {
		t.Errorf("committed | open at the crash | taken by the new instance: %q", s)
	}
}

func TestDefaultPartitionAndHeader(t *testing.T) {
	needBroker(t)
	tp := topic(t, 3)
	c, _ := openCh(t, tp, "g", "defaultPartitionId", "2", "partitionIdHeader", "p")
	put(t, c, ev("to2"), ev("to0", "p", "0"))
	for _, r := range readRaw(t, tp, 2) {
		e, _ := kafkaclient.DecodeFlumeEvent(r.Value)
		if want := map[string]int32{"to2": 2, "to0": 0}[string(e.Body)]; r.Partition != want {
			t.Errorf("%s went to partition %d, want %d", e.Body, r.Partition, want)
		}
	}
	tx := c.Begin()
	if err := tx.Put([]*sluice.Event{ev("nowhere", "p", "7")}); err != nil {
		t.Fatal(err)
	}
	err := tx.Commit()
	if err == nil || !strings.Contains(err.Error(), tp) {
		t.Errorf("commit to partition 7 of a 3-partition topic: %v; want an error naming the topic", err)
	}
}

func TestPutFailsWhileTheTopicIsMissing(t *testing.T) {
	needBroker(t) // the test broker does not create topics on its own
	c, cnt := openCh(t, "no-such-topic-"+t.Name(), "g", "kafka.producer.delivery.timeout.ms", "3000")
	tx := c.Begin()
	_ = tx.Put([]*sluice.Event{ev("x")})
	err := tx.Commit()
	if err == nil || !strings.Contains(err.Error(), "no-such-topic") {
		t.Fatalf("commit: %v; want an error naming the topic", err)
	}
	if cnt.EventPutSuccess.Load() != 0 {
		t.Error("a failed put counted as success")
	}
}

// Sinks take concurrently from one channel, commit in any order and roll
// back some batches: every event is delivered, and after the channel
// stops a new instance in the group finds nothing left over.
func TestConcurrentTakersLoseNothing(t *testing.T) {
	needBroker(t)
	tp := topic(t, 3)
	c, _ := openCh(t, tp, "g")
	const n = 3000
	var evs []*sluice.Event
	for i := range n {
		evs = append(evs, ev(fmt.Sprint(i), "key", fmt.Sprint(i%7)))
	}
	for i := 0; i < n; i += 500 {
		put(t, c, evs[i:i+500]...)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; ; round++ {
				mu.Lock()
				left := n - len(seen)
				mu.Unlock()
				if left == 0 {
					return
				}
				tx := c.Begin()
				got, _ := tx.Take(37)
				if len(got) == 0 {
					_ = tx.Commit()
					select {
					case <-c.Ready():
					case <-time.After(time.Second):
					}
					continue
				}
				if (round+w)%5 == 0 {
					_ = tx.Rollback()
					continue
				}
				if err := tx.Commit(); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, e := range got {
					seen[string(e.Body)]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for k, v := range seen {
		if v != 1 {
			t.Errorf("event %s delivered %d times without a crash", k, v)
		}
	}
	stop(t, c)
	if l := lag(t, tp, "g"); l != 0 {
		t.Errorf("after a clean stop the group's committed offsets are %d records short of the end", l)
	}
}

// A second member joins while the first holds an open take of every
// event: the partition the rebalance moves is committed only up to what
// takes committed (nothing), so the new member gets all of its events; the
// first member's later commit does not commit the moved partition.
func TestRebalanceDoesNotCommitOpenTakes(t *testing.T) {
	needBroker(t)
	tp := topic(t, 2)
	c1, _ := openCh(t, tp, "g", "partitionIdHeader", "p")
	var evs []*sluice.Event
	for i := range 10 {
		evs = append(evs, ev(fmt.Sprint(i), "p", fmt.Sprint(i%2)))
	}
	put(t, c1, evs...)
	open := c1.Begin()
	held := takeN(t, c1, open, 10)

	c2, _ := openCh(t, tp, "g", "partitionIdHeader", "p")
	tx := c2.Begin()
	moved := takeN(t, c2, tx, 5)
	part := moved[0].Headers["p"]
	for _, e := range moved {
		if e.Headers["p"] != part {
			t.Fatalf("the new member got events of both partitions: %v", moved)
		}
	}
	if err := open.Commit(); err != nil { // the old member delivered them too
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if s := bodiesOf(moved); len(held) != 10 || !strings.Contains("0 2 4 6 8 |1 3 5 7 9 ", s) {
		t.Errorf("the new member got %q; want all 5 of partition %s in order", s, part)
	}
	// The old member's take of the partition it kept may count or not (an
	// eager rebalance, the default, revokes every partition, so it hands
	// them out again); either way both drain the topic to the end.
	deadline := time.Now().Add(60 * time.Second)
	for lag(t, tp, "g") != 0 {
		for _, c := range []*Channel{c1, c2} {
			tx := c.Begin()
			_, _ = tx.Take(10)
			_ = tx.Commit()
		}
		if time.Now().After(deadline) {
			t.Fatalf("lag %d: the members do not drain the topic", lag(t, tp, "g"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop and Start again (as a reload does with a channel whose settings
// did not change) goes on from the committed offsets: an event taken and
// not committed before the stop comes again, once.
func TestRestartGoesOnFromCommittedOffsets(t *testing.T) {
	needBroker(t)
	tp := topic(t, 1)
	c, _ := openCh(t, tp, "g")
	put(t, c, ev("a"), ev("b"))
	tx := c.Begin()
	takeN(t, c, tx, 1)
	_ = tx.Commit()
	open := c.Begin()
	takeN(t, c, open, 1)
	stop(t, c)
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	_ = open.Commit() // a take of the previous run: it commits nothing now
	put(t, c, ev("marker"))
	if got := bodiesOf(takeUntil(t, c, "marker")); got != "b marker " {
		t.Errorf("after the restart took %q, want b again and the marker", got)
	}
}

// A record that is not a Flume event (written by something else) is
// handed out as it is, marked, and the records after it follow.
func TestForeignRecordIsHandedOutMarked(t *testing.T) {
	needBroker(t)
	tp := topic(t, 1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addr), kgo.DefaultProduceTopic(tp))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(t.Context(), &kgo.Record{Value: []byte("\x07not avro"), Key: []byte("k")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	c, _ := openCh(t, tp, "g")
	put(t, c, ev("after"))
	tx := c.Begin()
	got := takeN(t, c, tx, 2)
	_ = tx.Commit()
	if string(got[0].Body) != "\x07not avro" || got[0].Headers[decodeErrorHeader] == "" || got[0].Headers["key"] != "k" {
		t.Errorf("foreign record: %q %v", got[0].Body, got[0].Headers)
	}
	if string(got[1].Body) != "after" || len(got[1].Headers) != 0 {
		t.Errorf("next record: %q %v", got[1].Body, got[1].Headers)
	}
}
