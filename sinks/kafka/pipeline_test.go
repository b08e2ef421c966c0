package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice/sluicetest/agenttest"
)

// TestTaildirKafkaExample runs examples/taildir-kafka.conf (its paths,
// broker and topic pointed at the test's) and reads the appended access
// log lines back with the broker's console consumer, and their service
// header with franz-go.
func TestTaildirKafkaExample(t *testing.T) {
	needBroker(t)
	topic := newTopic(t, 1)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	text := agenttest.SetProps(agenttest.Example(t, "taildir-kafka.conf"),
		"a1.sources.r1.filegroups.access", filepath.Join(dir, "logs", "access.log"),
		"a1.sources.r1.positionFile", filepath.Join(dir, "taildir_position.json"),
		"a1.sinks.k1.kafka.bootstrap.servers", broker.Addr,
		"a1.sinks.k1.kafka.topic", topic)
	agenttest.Run(t, text, slog.New(&logRecorder{}))
	var want []string
	for i := 0; i < 200; i++ {
		want = append(want, fmt.Sprintf(`127.0.0.1 - - [07/Dec/2026:10:00:%02d +0000] "GET /page/%d HTTP/1.1" 200 %d`, i%60, i, 100+i))
	}
	appendLines(t, filepath.Join(dir, "logs", "access.log"), want...)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	got, err := broker.ConsoleConsume(ctx, topic, len(want), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("console consumer read %d lines, first %q", len(got), got[:min(3, len(got))])
	}
	for _, r := range consume(t, topic, len(want)) {
		if len(r.Headers) != 1 || r.Headers[0].Key != "service" || string(r.Headers[0].Value) != "web" {
			t.Fatalf("record headers %+v", r.Headers)
		}
	}
}

// TestBrokerKilledAndRestarted: the broker is killed (SIGKILL) while lines
// keep coming, and started again. Every line reaches the topic, the outage
// is logged once when it begins and once when it ends, and the sink
// recovers by itself.
func TestBrokerKilledAndRestarted(t *testing.T) {
	needBroker(t)
	topic := newTopic(t, 2)
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	rec := &logRecorder{}
	text := agenttest.SetProps(agenttest.Example(t, "taildir-kafka.conf"),
		"a1.sources.r1.filegroups.access", filepath.Join(logs, "access.log"),
		"a1.sources.r1.positionFile", filepath.Join(dir, "taildir_position.json"),
		"a1.sinks.k1.kafka.bootstrap.servers", broker.Addr,
		"a1.sinks.k1.kafka.topic", topic,
		"a1.sinks.k1.flumeBatchSize", "100",
		// Fail a batch after 5 s rather than Java's 2 minutes.
		"a1.sinks.k1.kafka.producer.delivery.timeout.ms", "5000",
		"a1.sinks.k1.kafka.producer.request.timeout.ms", "3000")
	a := agenttest.Run(t, text, slog.New(rec))
	c := a.Counters()["SINK.k1"]
	line := func(i int) string { return fmt.Sprintf("line %05d", i) }
	write := func(from, to int) {
		var ls []string
		for i := from; i < to; i++ {
			ls = append(ls, line(i))
		}
		appendLines(t, filepath.Join(logs, "access.log"), ls...)
	}
	write(0, 500)
	agenttest.WaitUntil(t, "the first 500 lines", time.Minute, func() bool { return c.Get("EventDrainSuccessCount").Load() == 500 })

	if err := broker.Kill(); err != nil {
		t.Logf("kill: %v", err)
	}
	write(500, 1000)
	const failed = "delivery failed; the batch was rolled back"
	agenttest.WaitUntil(t, "the outage line", 2*time.Minute, func() bool { return len(rec.Lines(failed)) > 0 })
	// Let a few more batches fail, so that a line per failure would show.
	agenttest.WaitUntil(t, "more failed batches", 2*time.Minute, func() bool { return c.Get("EventWriteFail").Load() >= 3 })
	write(1000, 1500)
	if err := broker.Restart(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	agenttest.WaitUntil(t, "all 1500 lines delivered", 3*time.Minute, func() bool { return c.Get("EventDrainSuccessCount").Load() >= 1500 })

	recs := consume(t, topic, 1500)
	seen := map[string]int{}
	for _, r := range recs {
		seen[string(r.Value)]++
	}
	dups := 0
	for i := 0; i < 1500; i++ {
		switch n := seen[line(i)]; {
		case n == 0:
			t.Errorf("%s lost", line(i))
		case n > 1:
			dups += n - 1
		}
	}
	t.Logf("%d records read, %d delivered twice (at-least-once); %d failed batches", len(recs), dups, c.Get("EventWriteFail").Load())
	if n := len(rec.Lines(failed)); n != 1 {
		t.Errorf("the outage was logged %d times, want once:\n%s", n, strings.Join(rec.Lines(failed), "\n"))
	}
	if n := len(rec.Lines("delivering again")); n != 1 {
		t.Errorf("the recovery was logged %d times, want once:\n%s", n, rec.All())
	}
	if l := rec.Lines(failed); len(l) == 1 {
		t.Logf("outage line: %s", l[0])
	}
	if l := rec.Lines(failed); len(l) == 1 && !strings.Contains(l[0], "kafka.bootstrap.servers") {
		t.Errorf("the outage line does not say which brokers: %s", l[0])
	}
}
