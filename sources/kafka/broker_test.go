package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice/sluicetest"
	"github.com/sluiceio/sluice/test/peers"
)

// produce writes n records "<prefix>-<i>" with distinct keys (spread over
// the partitions) and a Kafka header.
func produce(t *testing.T, addr, topic, prefix string, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Key: []byte(prefix + "-k" + strconv.Itoa(i)),
			Value:   []byte(fmt.Sprintf("%s-%d", prefix, i)),
			Headers: []kgo.RecordHeader{{Key: "X-Trace", Value: []byte("t" + strconv.Itoa(i))}}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// admin runs f with an admin client of the broker at addr.
func admin(t *testing.T, addr string, f func(ctx context.Context, adm *kadm.Client) error) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f(ctx, kadm.NewClient(cl)); err != nil {
		t.Fatal(err)
	}
}

// committed returns the group's committed offset per partition of topic.
func committed(t *testing.T, addr, group, topic string) map[int32]int64 {
	t.Helper()
	out := map[int32]int64{}
	admin(t, addr, func(ctx context.Context, adm *kadm.Client) error {
		resp, err := adm.FetchOffsets(ctx, group)
		resp.Each(func(o kadm.OffsetResponse) {
			if o.Topic == topic && o.Err == nil {
				out[o.Partition] = o.At
			}
		})
		return err
	})
	return out
}

func endOffsets(t *testing.T, addr, topic string) map[int32]int64 {
	t.Helper()
	out := map[int32]int64{}
	admin(t, addr, func(ctx context.Context, adm *kadm.Client) error {
		ends, err := adm.ListEndOffsets(ctx, topic)
		ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
		return err
	})
	return out
}

func runSource(t *testing.T, cfg *Config, p *sluicetest.Processor) *Source {
	t.Helper()
	s, err := New(sluicetest.SourceEnv("r1", p), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func stopSource(t *testing.T, s *Source) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

// TestBroker runs the source against one real Kafka broker (KRaft, from the
// Maven artifacts; skipped under -short).
func TestBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Java and a Kafka broker")
	}
	// Besides PLAINTEXT, a SASL_PLAINTEXT listener where alice logs in
	// with PLAIN.
	plain, ctrl, sasl := peers.FreePort(t), peers.FreePort(t), peers.FreePort(t)
	saslAddr := fmt.Sprintf("127.0.0.1:%d", sasl)
	listeners := fmt.Sprintf("PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d,SASL_PLAINTEXT://%s", plain, ctrl, saslAddr)
	k := peers.StartKafka(t, peers.KafkaOptions{JVMFlags: peers.FastStartFlags, Port: plain, Props: map[string]string{
		"listeners": listeners, "advertised.listeners": listeners,
		"controller.quorum.voters":                            fmt.Sprintf("1@127.0.0.1:%d", ctrl),
		"listener.security.protocol.map":                      "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
		"sasl.enabled.mechanisms":                             "PLAIN",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="` + alicePassword + `";`,
	}})
	t.Run("SASL", func(t *testing.T) { testSASL(t, k, saslAddr) })
	t.Run("OffsetsMoveOnlyAfterDelivery", func(t *testing.T) { testOffsetsMoveOnlyAfterDelivery(t, k) })
	t.Run("StalledMemberCommitsNothingItDidNotDeliver", func(t *testing.T) { testStalledMemberCommitsNothingItDidNotDeliver(t, k) })
	t.Run("TopicsRegex", func(t *testing.T) { testTopicsRegex(t, k) })
}

// kafka.topics.regex reads every topic whose whole name matches, and no
// other (not one that only contains a match).
func testTopicsRegex(t *testing.T, k *peers.Kafka) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, topic := range []string{"rx-a", "rx-b", "xrx-a", "rx"} {
		if err := k.CreateTopic(ctx, topic, 1); err != nil {
			t.Fatal(err)
		}
		produce(t, k.Addr, topic, topic, 10)
	}
	cfg, errs := decode(t, "kafka.bootstrap.servers", k.Addr, "kafka.topics.regex", `rx-\w+`,
		"kafka.consumer.group.id", "g-rx", "kafka.consumer.auto.offset.reset", "earliest", "batchDurationMillis", "100")
	if len(errorsOnly(errs)) != 0 {
		t.Fatal(errs)
	}
	p := sluicetest.NewProcessor()
	s := runSource(t, cfg, p)
	got, err := p.WaitFor(20, time.Minute)
	if err != nil {
		stopSource(t, s)
		t.Fatal(err)
	}
	// Records of the other topics, had they been subscribed, would have come
	// with the first fetches; one more record makes sure those are done.
	produce(t, k.Addr, "rx-a", "last", 1)
	got, err = p.WaitFor(21, time.Minute)
	stopSource(t, s)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range got {
		count[e.Headers["topic"]]++
	}
	if count["rx-a"] != 11 || count["rx-b"] != 10 || len(count) != 2 {
		t.Errorf("records per topic %v, want rx-a 11 and rx-b 10 only", count)
	}
}

// While the channels refuse every batch, no offset
// is committed; once they take it, every record arrives with Flume's
// headers and the committed offsets reach the end of each partition; a
// later member of the group gets only what was written after.
func testOffsetsMoveOnlyAfterDelivery(t *testing.T, k *peers.Kafka) {
	const topic, group, n = "deliver-then-commit", "g1", 300
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := k.CreateTopic(ctx, topic, 2); err != nil {
		t.Fatal(err)
	}
	produce(t, k.Addr, topic, "first", n)

	cfg, errs := decode(t, "kafka.bootstrap.servers", k.Addr, "kafka.topics", topic,
		"kafka.consumer.group.id", group, "kafka.consumer.auto.offset.reset", "earliest",
		"batchSize", "50", "batchDurationMillis", "100", "backoffSleepIncrement", "50", "maxBackoffSleep", "200",
		"header.trace", "X-Trace")
	if len(errorsOnly(errs)) != 0 {
		t.Fatal(errs)
	}

	// 1. The channels refuse: batches are retried, nothing is committed.
	p1 := sluicetest.NewProcessor()
	p1.SetFail(errors.New("channel full"))
	s1 := runSource(t, cfg, p1)
	deadline := time.Now().Add(time.Minute)
	for p1.Calls() < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("the source made %d hand-off attempts in a minute", p1.Calls())
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopSource(t, s1)
	if c := committed(t, k.Addr, group, topic); len(c) != 0 {
		t.Fatalf("offsets committed for batches the channels refused: %v", c)
	}

	// 2. The channels take them: all arrive, offsets reach the end.
	p2 := sluicetest.NewProcessor()
	s2 := runSource(t, cfg, p2)
	got, err := p2.WaitFor(n, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	stopSource(t, s2)
	seen := map[string]bool{}
	for _, e := range got {
		seen[string(e.Body)] = true
		i := e.Body[len("first-"):]
		if e.Headers["key"] != "first-k"+string(i) || e.Headers["trace"] != "t"+string(i) ||
			e.Headers["topic"] != topic || e.Headers["partition"] == "" || e.Headers["offset"] == "" || e.Headers["timestamp"] == "" {
			t.Fatalf("event %q headers %v", e.Body, e.Headers)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct records of %d", len(seen), n)
	}
	c, ends := committed(t, k.Addr, group, topic), endOffsets(t, k.Addr, topic)
	for p, end := range ends {
		if c[p] != end {
			t.Errorf("partition %d: committed %d, end %d", p, c[p], end)
		}
	}
	cnt := p2.Counters().Snapshot()
	if cnt["EventAcceptedCount"] != strconv.Itoa(len(got)) || cnt["KafkaCommitTimer"] == "" || cnt["KafkaEventGetTimer"] == "" {
		t.Errorf("counters: %v", cnt)
	}

	// 3. A new member gets only what came after: the commits held.
	produce(t, k.Addr, topic, "later", 40)
	p3 := sluicetest.NewProcessor()
	s3 := runSource(t, cfg, p3)
	got, err = p3.WaitFor(40, time.Minute)
	stopSource(t, s3)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range got {
		if string(e.Body[:5]) != "later" {
			t.Errorf("record %q delivered again after its offset was committed", e.Body)
		}
	}
}

// A member whose channels refuse its batch holds it
// through a rebalance (partitions move only between batches) until the
// group drops it; the other member then reads everything, and the stalled
// member's late delivery neither commits over the group's offsets nor
// loses a record.
func testStalledMemberCommitsNothingItDidNotDeliver(t *testing.T, k *peers.Kafka) {
	const topic, group, n = "stalled-member", "g2", 200
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := k.CreateTopic(ctx, topic, 4); err != nil {
		t.Fatal(err)
	}
	produce(t, k.Addr, topic, "rec", n)
	cfg, errs := decode(t, "kafka.bootstrap.servers", k.Addr, "kafka.topics", topic,
		"kafka.consumer.group.id", group, "kafka.consumer.auto.offset.reset", "earliest",
		"kafka.consumer.session.timeout.ms", "6000", "kafka.consumer.heartbeat.interval.ms", "1000",
		"kafka.consumer.max.poll.interval.ms", "6000",
		"batchSize", "1000", "batchDurationMillis", "300", "backoffSleepIncrement", "50", "maxBackoffSleep", "200")
	if len(errorsOnly(errs)) != 0 {
		t.Fatal(errs)
	}

	pa := sluicetest.NewProcessor()
	pa.SetFail(errors.New("channel full"))
	a := runSource(t, cfg, pa)
	deadline := time.Now().Add(time.Minute)
	for pa.Calls() < 3 { // a holds a batch its channels refuse
		if time.Now().After(deadline) {
			t.Fatalf("a made %d hand-off attempts in a minute", pa.Calls())
		}
		time.Sleep(20 * time.Millisecond)
	}
	pb := sluicetest.NewProcessor()
	b := runSource(t, cfg, pb)
	got, err := pb.WaitFor(n, 2*time.Minute)
	if err != nil {
		t.Fatalf("b, alone after a was dropped from the group: %v", err)
	}
	seen := map[string]bool{}
	for _, e := range got {
		seen[string(e.Body)] = true
	}
	if len(seen) != n {
		t.Fatalf("b read %d distinct records of %d", len(seen), n)
	}
	// b commits after each batch it delivered; wait for the end offsets.
	ends := endOffsets(t, k.Addr, topic)
	deadline = time.Now().Add(time.Minute)
	for {
		c := committed(t, k.Addr, group, topic)
		done := true
		for p, end := range ends {
			done = done && c[p] == end
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("committed %v, end offsets %v", c, ends)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// a's channels take its stale batch now: duplicates, but its commit
	// must not move the group's offsets back.
	pa.SetFail(nil)
	if _, err := pa.WaitFor(1, time.Minute); err != nil {
		t.Fatal(err)
	}
	stopSource(t, a)
	stopSource(t, b)
	c := committed(t, k.Addr, group, topic)
	for p, end := range ends {
		if c[p] != end {
			t.Errorf("partition %d: committed offset %d after the stalled member's late delivery, want %d", p, c[p], end)
		}
	}
	t.Logf("a delivered %d stale records (duplicates), b %d", len(pa.Events()), len(got))
}

// BenchmarkSourceRead reads a topic of 100,000 records of 100 bytes (4
// partitions) from a real broker into the core's hand-off, with a new
// group each time: the source's read, map and commit path end to end.
func BenchmarkSourceRead(b *testing.B) {
	if testing.Short() {
		b.Skip("needs Java and a Kafka broker")
	}
	k := peers.StartKafka(b, peers.KafkaOptions{})
	const topic, n = "bench", 100000
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := k.CreateTopic(ctx, topic, 4); err != nil {
		b.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Addr), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 100)
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Key: []byte(strconv.Itoa(i)), Value: body}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
	cl.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := defaults()
		c.BootstrapServers, c.Topics = k.Addr, topic
		c.GroupID = "bench-" + strconv.Itoa(i)
		c.Consumer = map[string]string{"auto.offset.reset": "earliest"}
		p := sluicetest.NewProcessor()
		s, err := New(sluicetest.SourceEnv("r1", p), c)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		if _, err := p.WaitFor(n, 5*time.Minute); err != nil {
			b.Fatal(err)
		}
		sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = s.Stop(sctx)
		scancel()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}

const alicePassword = "alice-Pw-4711"

// lockedBuffer collects a logger's output across goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// SASL PLAIN: with alice's password the source reads; with a wrong one it
// logs one error saying SASL authentication failed, naming the mechanism,
// and never the password.
func testSASL(t *testing.T, k *peers.Kafka, saslAddr string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const topic = "sasl"
	if err := k.CreateTopic(ctx, topic, 1); err != nil {
		t.Fatal(err)
	}
	produce(t, k.Addr, topic, "sasl", 20)
	for i, pw := range []string{alicePassword, "wrong-Pw-0815"} {
		cfg, errs := decode(t, "kafka.bootstrap.servers", saslAddr, "kafka.topics", topic,
			"kafka.consumer.group.id", "g-sasl-"+strconv.Itoa(i), "kafka.consumer.auto.offset.reset", "earliest", "batchDurationMillis", "100",
			"kafka.consumer.security.protocol", "SASL_PLAINTEXT", "kafka.consumer.sasl.mechanism", "PLAIN",
			"kafka.consumer.sasl.jaas.config", `org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="`+pw+`";`)
		if len(errorsOnly(errs)) != 0 {
			t.Fatal(errs)
		}
		var logs lockedBuffer
		p := sluicetest.NewProcessor()
		env := sluicetest.SourceEnv("r1", p)
		env.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		s, err := New(env, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if pw == alicePassword {
			_, err = p.WaitFor(20, time.Minute)
		} else {
			deadline := time.Now().Add(time.Minute)
			for !strings.Contains(logs.String(), "SASL authentication failed for mechanism PLAIN") {
				if time.Now().After(deadline) {
					err = fmt.Errorf("no SASL error logged:\n%s", logs.String())
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		stopSource(t, s)
		if err != nil {
			t.Fatalf("password %q: %v", pw, err)
		}
		if out := logs.String(); strings.Contains(out, pw) {
			t.Errorf("the password is in the log:\n%s", out)
		}
		if pw != alicePassword {
			if n := strings.Count(logs.String(), "SASL authentication failed"); n != 1 {
				t.Errorf("the SASL failure was logged %d times, want once:\n%s", n, logs.String())
			}
			if len(p.Events()) != 0 {
				t.Errorf("events read with a wrong password")
			}
		}
	}
}
