package kafka

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/kafkaclient"
	"github.com/sluiceio/sluice/sluicetest"
	"github.com/sluiceio/sluice/sluicetest/agenttest"
)

// TestBatchReachesTopic sends 120 events in batches of 50 to a topic of
// three partitions and reads every one back, with franz-go and with the
// broker's console consumer: value, key, partition (chosen by the header,
// else murmur2 of the key) and the copied Kafka header, each exactly once.
func TestBatchReachesTopic(t *testing.T) {
	needBroker(t)
	topic := newTopic(t, 3)
	s, env := newSink(t, nil, "kafka.bootstrap.servers = "+broker.Addr, "kafka.topic = "+topic,
		"flumeBatchSize = 50", "partitionIdHeader = part", "header.host = origin")
	const n = 120
	ch := sluicetest.NewChannel()
	for i := 0; i < n; i++ {
		h := map[string]string{"host": fmt.Sprintf("h%d", i)}
		if i%3 == 0 {
			h["key"] = fmt.Sprintf("k%d", i)
		}
		if i%10 == 1 {
			h["part"] = "2"
		}
		ch.Add(&sluice.Event{Headers: h, Body: []byte(fmt.Sprintf("event-%03d", i))})
	}
	drain(t, env, s, ch)
	if ch.Commits != 3 || ch.Rollbacks != 0 {
		t.Errorf("commits %d rollbacks %d, want 3 and 0", ch.Commits, ch.Rollbacks)
	}

	recs := consume(t, topic, n)
	if len(recs) != n {
		t.Fatalf("read %d records, want %d", len(recs), n)
	}
	seen := map[string]bool{}
	hash := kgo.StickyKeyPartitioner(nil).ForTopic(topic)
	for _, r := range recs {
		v := string(r.Value)
		if seen[v] {
			t.Errorf("%s read twice", v)
		}
		seen[v] = true
		i, err := strconv.Atoi(strings.TrimPrefix(v, "event-"))
		if err != nil {
			t.Fatalf("unexpected value %q", v)
		}
		wantKey := ""
		if i%3 == 0 {
			wantKey = fmt.Sprintf("k%d", i)
		}
		if string(r.Key) != wantKey || (wantKey == "") != (r.Key == nil) {
			t.Errorf("%s: key %q, want %q", v, r.Key, wantKey)
		}
		switch {
		case i%10 == 1:
			if r.Partition != 2 {
				t.Errorf("%s: partition %d, want 2 from the header", v, r.Partition)
			}
		case wantKey != "":
			if want := hash.Partition(&kgo.Record{Key: r.Key}, 3); int(r.Partition) != want {
				t.Errorf("%s: partition %d, want murmur2's %d", v, r.Partition, want)
			}
		}
		if len(r.Headers) != 1 || r.Headers[0].Key != "origin" || string(r.Headers[0].Value) != fmt.Sprintf("h%d", i) {
			t.Errorf("%s: headers %+v", v, r.Headers)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vals, err := broker.ConsoleConsume(ctx, topic, n, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(vals)
	for i, v := range vals {
		if want := fmt.Sprintf("event-%03d", i); v != want {
			t.Fatalf("console consumer value %d = %q, want %q", i, v, want)
		}
	}

	c := env.SinkCounters
	if c.EventDrainSuccess.Load() != n || c.BatchComplete.Load() != 2 || c.BatchUnderflow.Load() != 1 ||
		c.ConnectionCreated.Load() < 1 || c.Get("RollbackCount").Load() != 0 {
		t.Errorf("counters %v", c.Snapshot())
	}
}

// TestFlumeEventFormatOnBroker: with useFlumeEventFormat each record value
// is the event in Avro binary, headers and body, as Flume writes it.
func TestFlumeEventFormatOnBroker(t *testing.T) {
	needBroker(t)
	topic := newTopic(t, 1)
	s, env := newSink(t, nil, "kafka.bootstrap.servers = "+broker.Addr, "kafka.topic = "+topic, "useFlumeEventFormat = true")
	ch := sluicetest.NewChannel()
	for i := 0; i < 10; i++ {
		ch.Add(&sluice.Event{Headers: map[string]string{"n": strconv.Itoa(i), "host": "web"}, Body: []byte{byte(i), 0xff, 'x'}})
	}
	drain(t, env, s, ch)
	recs := consume(t, topic, 10)
	if len(recs) != 10 {
		t.Fatalf("read %d", len(recs))
	}
	for i, r := range recs {
		e, err := kafkaclient.DecodeFlumeEvent(r.Value)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if e.Headers["n"] != strconv.Itoa(i) || e.Headers["host"] != "web" || !bytes.Equal(e.Body, []byte{byte(i), 0xff, 'x'}) {
			t.Errorf("record %d: %+v", i, e)
		}
	}
}

// TestMissingTopicIsNamed: with auto-creation off on the broker, a batch
// for a topic that does not exist fails with an error naming the topic,
// and rolls back (no dead letter configured).
func TestMissingTopicIsNamed(t *testing.T) {
	needBroker(t)
	s, env := newSink(t, nil, "kafka.bootstrap.servers = "+broker.Addr, "kafka.topic = no-such-topic-here")
	ch := sluicetest.NewChannel(&sluice.Event{Body: []byte("x")}, &sluice.Event{Body: []byte("y")})
	env.Channel, env.ChannelName = ch, "c1"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := sluicetest.SinkLoop(env, s).Process(ctx)
	if err == nil || !strings.Contains(err.Error(), `topic "no-such-topic-here" does not exist`) {
		t.Fatalf("got %v", err)
	}
	if ch.Len() != 2 || ch.Rollbacks != 1 {
		t.Errorf("channel holds %d, rollbacks %d", ch.Len(), ch.Rollbacks)
	}
}

// TestTooLargeRecordDeadLettered runs taildir -> memory -> kafka in an
// agent with deadLetter.directory: a line larger than the topic's
// max.message.bytes is set aside with its reason while the lines of the
// same batch around it reach the topic.
func TestTooLargeRecordDeadLettered(t *testing.T) {
	needBroker(t)
	topic := newTopic(t, 1, "max.message.bytes=2000")
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("B", 5000)
	lines := []string{"small-1", "small-2", big, "small-3", "small-4"}
	appendLines(t, filepath.Join(logs, "app.log"), lines...)
	rec := &logRecorder{}
	a := agenttest.Run(t, fmt.Sprintf(`
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = TAILDIR
a1.sources.r1.channels = c1
a1.sources.r1.filegroups = g
a1.sources.r1.filegroups.g = %s/.*log
a1.sources.r1.positionFile = %s/pos.json
a1.channels.c1.type = memory
a1.sinks.k1.type = kafka
a1.sinks.k1.channel = c1
a1.sinks.k1.kafka.bootstrap.servers = %s
a1.sinks.k1.kafka.topic = %s
a1.sinks.k1.deadLetter.directory = %s/dead
`, logs, dir, broker.Addr, topic, dir), slog.New(rec))

	var dead []byte
	agenttest.WaitUntil(t, "the dead letter", 2*time.Minute, func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, "dead", "k1-*.jsonl"))
		if len(files) == 0 {
			return false
		}
		dead, _ = os.ReadFile(files[0])
		return bytes.Count(dead, []byte("\n")) >= 1
	})
	var r struct{ Reason, Body string }
	if err := json.Unmarshal(bytes.TrimSpace(dead), &r); err != nil {
		t.Fatalf("dead letter %s: %v", dead, err)
	}
	if r.Body != big || !strings.Contains(r.Reason, fmt.Sprintf("topic %q", topic)) || !strings.Contains(r.Reason, "max.message.bytes") {
		t.Errorf("dead letter reason %q body of %d bytes", r.Reason, len(r.Body))
	}
	recs := consume(t, topic, 4)
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Value))
	}
	if !slices.Equal(got, []string{"small-1", "small-2", "small-3", "small-4"}) {
		t.Errorf("topic holds %q", got)
	}
	c := a.Counters()["SINK.k1"]
	agenttest.WaitUntil(t, "the counters", 30*time.Second, func() bool { return c.Get("EventDrainSuccessCount").Load() == 4 })
	if c.Get("EventDeadLetterCount").Load() != 1 {
		t.Errorf("counters %v", c.Snapshot())
	}
}

// TestUnreachableBootstrap: Start does not wait, and a batch for brokers
// that cannot be reached fails within the delivery timeout with an error
// naming them; nothing is lost (the batch rolls back). No broker needed.
func TestUnreachableBootstrap(t *testing.T) {
	rec := &logRecorder{}
	begin := time.Now()
	s, env := newSink(t, slog.New(rec), "kafka.bootstrap.servers = 127.0.0.1:1", "kafka.topic = t",
		"kafka.producer.delivery.timeout.ms = 2000")
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("New and Start took %v", d)
	}
	ch := sluicetest.NewChannel(&sluice.Event{Body: []byte("a")}, &sluice.Event{Body: []byte("b")})
	env.Channel, env.ChannelName = ch, "c1"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := sluicetest.SinkLoop(env, s).Process(ctx)
	if err == nil || !strings.Contains(err.Error(), `cannot reach kafka.bootstrap.servers "127.0.0.1:1"`) {
		t.Fatalf("got %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Deliver ran into the test's deadline")
	}
	if ch.Len() != 2 || ch.Rollbacks != 1 {
		t.Errorf("channel holds %d, rollbacks %d", ch.Len(), ch.Rollbacks)
	}
	agenttest.WaitUntil(t, "the start check's warning", 30*time.Second, func() bool {
		return len(rec.Lines("the brokers do not answer yet", `cannot reach kafka.bootstrap.servers "127.0.0.1:1"`)) == 1
	})
}

// TestSASLPlain writes through the broker's SASL_PLAINTEXT listener: with
// alice's password every event arrives; with a wrong one the batch rolls
// back with an error saying SASL authentication failed for PLAIN, and
// neither it nor the start check's warning shows the password.
func TestSASLPlain(t *testing.T) {
	needBroker(t)
	topic := newTopic(t, 1)
	jaas := func(pw string) string {
		return `kafka.producer.sasl.jaas.config = org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="` + pw + `";`
	}
	common := []string{"kafka.bootstrap.servers = " + saslAddr, "kafka.topic = " + topic,
		"kafka.producer.security.protocol = SASL_PLAINTEXT", "kafka.producer.sasl.mechanism = PLAIN",
		"kafka.producer.delivery.timeout.ms = 5000"}

	s, env := newSink(t, nil, append(common, jaas(alicePassword))...)
	ch := sluicetest.NewChannel(&sluice.Event{Body: []byte("via sasl 1")}, &sluice.Event{Body: []byte("via sasl 2")})
	drain(t, env, s, ch)
	if recs := consume(t, topic, 2); len(recs) != 2 || string(recs[0].Value) != "via sasl 1" {
		t.Errorf("read %d records", len(recs))
	}

	const wrong = "not-Alices-Pw-0815"
	rec := &logRecorder{}
	s2, env2 := newSink(t, slog.New(rec), append(common, jaas(wrong))...)
	ch2 := sluicetest.NewChannel(&sluice.Event{Body: []byte("never")})
	env2.Channel, env2.ChannelName = ch2, "c1"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := sluicetest.SinkLoop(env2, s2).Process(ctx)
	if err == nil || !strings.Contains(err.Error(), "SASL authentication failed for mechanism PLAIN") {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("the password is in the error: %v", err)
	}
	if ch2.Len() != 1 {
		t.Errorf("the event is gone from the channel")
	}
	agenttest.WaitUntil(t, "the start check's warning", 30*time.Second, func() bool {
		return len(rec.Lines("SASL authentication failed for mechanism PLAIN")) > 0
	})
	if strings.Contains(rec.All(), wrong) {
		t.Errorf("the password is in the log:\n%s", rec.All())
	}
	t.Logf("error: %v", err)
}

// TestBadPartitionsRejected: an event whose partition header names a
// partition the topic lacks, or is not a number, is rejected for good with
// the reason; the events beside it are written.
func TestBadPartitionsRejected(t *testing.T) {
	needBroker(t)
	topic := newTopic(t, 2)
	s, _ := newSink(t, nil, "kafka.bootstrap.servers = "+broker.Addr, "kafka.topic = "+topic, "partitionIdHeader = p")
	events := []*sluice.Event{
		{Headers: map[string]string{"p": "7"}, Body: []byte("too far")},
		{Headers: map[string]string{"p": "1"}, Body: []byte("ok 1")},
		{Headers: map[string]string{"p": "x"}, Body: []byte("not a number")},
		{Body: []byte("ok 2")},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := s.Deliver(ctx, events)
	var de *sluice.DeliveryError
	if !errors.As(err, &de) || len(de.Retry) != 0 || len(de.Rejected) != 2 {
		t.Fatalf("got %v", err)
	}
	reasons := map[int]string{}
	for _, r := range de.Rejected {
		reasons[r.Index] = r.Reason.Error()
	}
	if !strings.Contains(reasons[0], fmt.Sprintf("topic %q has no such partition", topic)) ||
		!strings.Contains(reasons[2], `header p: "x" is not a partition number`) {
		t.Errorf("reasons %q", reasons)
	}
	recs := consume(t, topic, 2)
	var got []string
	for _, r := range recs {
		got = append(got, fmt.Sprintf("%s@%d", r.Value, r.Partition))
	}
	slices.Sort(got)
	if len(got) != 2 || got[0] != "ok 1@1" || !strings.HasPrefix(got[1], "ok 2@") {
		t.Errorf("topic holds %q", got)
	}
}

// BenchmarkDeliver measures events per second through the sink into the
// broker: 100-byte bodies with three headers, batches of 1000, defaults
// (acks=all, idempotent, no compression).
func BenchmarkDeliver(b *testing.B) {
	if testing.Short() {
		b.Skip("needs a broker")
	}
	ctx := context.Background()
	topic := fmt.Sprintf("sink-bench-%d", topicSeq.Add(1))
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := broker.CreateTopic(cctx, topic, 3); err != nil {
		b.Fatal(err)
	}
	cfg := defaults()
	cfg.BootstrapServers, cfg.Topic, cfg.BatchSize = broker.Addr, topic, 1000
	s, err := New(sluicetest.Env("k1"), cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer s.Stop(ctx)
	body := bytes.Repeat([]byte("x"), 100)
	batch := make([]*sluice.Event, 1000)
	for i := range batch {
		batch[i] = &sluice.Event{Headers: map[string]string{"host": "web-17.example.com", "timestamp": "1700000000000", "seq": strconv.Itoa(i)}, Body: body}
	}
	b.ResetTimer()
	sent := 0
	for sent < b.N {
		if err := s.Deliver(ctx, batch); err != nil {
			b.Fatal(err)
		}
		sent += len(batch)
	}
	b.StopTimer()
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "events/s")
}

// TestTLS writes through the broker's SSL listener with Java stores: a
// PKCS12 trust store, a JKS key store for the client certificate the
// broker requires, host names checked (the certificate names localhost).
// A trust store that does not hold the broker's certificate fails with an
// error saying so.
func TestTLS(t *testing.T) {
	needBroker(t)
	topic := newTopic(t, 1)
	stores := filepath.Join("..", "..", "internal", "tlsconf", "testdata")
	tlsProps := func(trust, typ string) []string {
		return []string{"kafka.bootstrap.servers = " + sslAddr, "kafka.topic = " + topic,
			"kafka.producer.security.protocol = SSL",
			"kafka.producer.ssl.truststore.location = " + filepath.Join(stores, trust),
			"kafka.producer.ssl.truststore.password = changeit",
			"kafka.producer.ssl.truststore.type = " + typ,
			"kafka.producer.ssl.keystore.location = " + filepath.Join(stores, "server.jks"),
			"kafka.producer.ssl.keystore.password = changeit",
			"kafka.producer.ssl.key.password = changeit",
			"kafka.producer.delivery.timeout.ms = 5000"}
	}
	s, env := newSink(t, nil, tlsProps("trust.p12", "PKCS12")...)
	drain(t, env, s, sluicetest.NewChannel(&sluice.Event{Body: []byte("over tls")}))
	if recs := consume(t, topic, 1); len(recs) != 1 || string(recs[0].Value) != "over tls" {
		t.Errorf("read %d records", len(recs))
	}

	s2, env2 := newSink(t, nil, tlsProps("other.jks", "JKS")...)
	ch := sluicetest.NewChannel(&sluice.Event{Body: []byte("never")})
	env2.Channel, env2.ChannelName = ch, "c1"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := sluicetest.SinkLoop(env2, s2).Process(ctx)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("TLS: the certificate of kafka.bootstrap.servers %q is not trusted", sslAddr)) {
		t.Fatalf("got %v", err)
	}
	if ch.Len() != 1 {
		t.Error("the event left the channel")
	}
}
