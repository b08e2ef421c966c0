package kafka

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sluicetest"
	"github.com/sluiceio/sluice/test/peers"
)

// broker is the package's real Kafka (nil under -short).
var broker *peers.Kafka

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	k, err := peers.StartKafkaProcess(context.Background(), peers.KafkaOptions{Heap: "512m", JVMFlags: peers.FastStartFlags})
	if err != nil {
		fmt.Fprintln(os.Stderr, "channels/kafka: starting the broker:", err)
		os.Exit(1)
	}
	broker = k
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "channels/kafka: broker log tail:\n%s\n", k.LogTail())
	}
	if err := k.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "channels/kafka: stopping the broker:", err)
	}
	os.Exit(code)
}

// needBroker skips under -short only.
func needBroker(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a Kafka broker (not under -short)")
	}
	if broker == nil {
		t.Fatal("no broker")
	}
}

var seq atomic.Int64

var notTopicChar = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// topic creates a topic of its own for the test.
func topic(t testing.TB, partitions int) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", notTopicChar.ReplaceAllString(t.Name(), "_"), seq.Add(1))
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := kadm.NewClient(cl).CreateTopics(ctx, int32(partitions), 1, nil, name)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	return name
}

// openCh starts a channel on the broker with the given topic and group and
// more properties; it is stopped when the test ends.
func openCh(t *testing.T, topic, group string, kv ...string) (*Channel, *sluice.ChannelCounters) {
	t.Helper()
	c, cnt := build(t, topic, group, kv...)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, c) })
	return c, cnt
}

func build(t *testing.T, topic, group string, kv ...string) (*Channel, *sluice.ChannelCounters) {
	t.Helper()
	kv = append([]string{"kafka.bootstrap.servers", broker.Addr, "kafka.topic", topic, "kafka.consumer.group.id", group,
		// Members that leave are noticed at once; a crashed one after 6 s.
		"kafka.consumer.session.timeout.ms", "6000", "kafka.consumer.heartbeat.interval.ms", "500"}, kv...)
	cfg, errs := decode(t, kv...)
	if len(errorsOnly(errs)) > 0 {
		t.Fatal(errs)
	}
	cnt := sluice.NewChannelCounters()
	c, err := New(sluice.Env{Name: "c1", Logger: sluicetest.Logger(), ChannelCounters: cnt}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, cnt
}

func stop(t *testing.T, c *Channel) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
}

func put(t *testing.T, c *Channel, events ...*sluice.Event) {
	t.Helper()
	tx := c.Begin()
	if err := tx.Put(events); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit of puts: %v", err)
	}
}

// takeN takes in one transaction until it holds n events, waiting on the
// channel's Ready signal; it fails after a generous deadline. The caller
// commits or rolls back tx.
func takeN(t *testing.T, c *Channel, tx sluice.Transaction, n int) []*sluice.Event {
	t.Helper()
	var got []*sluice.Event
	deadline := time.Now().Add(60 * time.Second)
	for len(got) < n {
		ready := c.Ready()
		evs, err := tx.Take(n - len(got))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, evs...)
		if len(evs) > 0 {
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("took %d of %d events within 60 s", len(got), n)
		}
		select {
		case <-ready:
		case <-time.After(time.Second):
		}
	}
	return got
}

// takeUntil takes and commits one event at a time until the marker comes,
// returning all it took (so "never seen" checks wait on a condition).
func takeUntil(t *testing.T, c *Channel, marker string) []*sluice.Event {
	t.Helper()
	var got []*sluice.Event
	deadline := time.Now().Add(60 * time.Second)
	for {
		tx := c.Begin()
		evs := takeN(t, c, tx, 1)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		got = append(got, evs...)
		if string(evs[0].Body) == marker {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("marker %q never came", marker)
		}
	}
}

func ev(body string, kv ...string) *sluice.Event {
	e := sluice.NewEvent([]byte(body))
	for i := 0; i+1 < len(kv); i += 2 {
		e.Headers[kv[i]] = kv[i+1]
	}
	return e
}

// readRaw reads n records of a topic from its start with a plain consumer.
func readRaw(t *testing.T, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollRecords(ctx, n-len(out))
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records of %s", len(out), n, topic)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

// lag is how many records of topic lie past the group's committed offsets.
func lag(t *testing.T, topic, group string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) {
		c := int64(0)
		if r, ok := committed.Lookup(topic, o.Partition); ok && r.At >= 0 {
			c = r.At
		}
		n += o.Offset - c
	})
	return n
}
