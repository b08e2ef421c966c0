// Package kafka runs the built sluice binary against one real Apache Kafka
// broker (KRaft, started from the Maven artifacts by test/peers): Sluice's
// Kafka source, sink and channel, Apache Flume's Kafka components beside
// them, and the broker's own console tools. Each test uses topics of its
// own (Topic), so the tests share the broker.
//
// Under -short nothing starts (the package needs Java) and TestMain exits 0.
package kafka

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

var (
	binary string       // the sluice binary TestMain built
	broker *peers.Kafka // the package's broker
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("test/kafka: skipped under -short (the tests need Java and a Kafka broker)")
		os.Exit(0)
	}
	run := func(tests func() int) int { return peers.RunWithSluice(tests, &binary) }
	if b := os.Getenv("SLUICE_TEST_BINARY"); b != "" {
		// A binary built elsewhere (e.g. with components not yet in all/).
		run = func(tests func() int) int { binary = b; return tests() }
	}
	os.Exit(run(func() int {
		k, err := peers.StartKafkaProcess(context.Background(), peers.KafkaOptions{
			Heap: "512m", JVMFlags: peers.FastStartFlags,
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "test/kafka: starting the broker:", err)
			return 1
		}
		broker = k
		code := m.Run()
		if err := k.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "test/kafka: stopping the broker:", err)
		}
		if code != 0 {
			fmt.Fprintf(os.Stderr, "test/kafka: broker log tail:\n%s\n", k.LogTail())
		}
		return code
	}))
}

var topicSeq atomic.Int64

var notTopicChar = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Topic creates a topic named after the test with the given partitions and
// returns its name.
func Topic(t *testing.T, partitions int) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", notTopicChar.ReplaceAllString(t.Name(), "_"), topicSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := broker.CreateTopic(ctx, name, partitions); err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	return name
}

// Agent writes conf and runs `sluice agent -n <agent>` on it in dir, waiting
// until it started.
func Agent(t *testing.T, dir, agent, conf string) *peers.Sluice {
	t.Helper()
	return peers.StartSluiceAgent(t, binary, dir, agent, conf)
}

// RollLines returns the lines the file_roll sinks (TEXT serializer) wrote
// into dir so far; nil while there is none.
func RollLines(t *testing.T, dir string) []string {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	text, err := peers.ReadRollText(dir)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
}

// WaitDistinct polls dir until every line of want appeared in it at least
// once, and returns the lines seen (duplicates included). It fails the
// test after timeout, naming how many are missing.
func WaitDistinct(t *testing.T, dir string, want []string, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := RollLines(t, dir)
		missing := Missing(want, got)
		if len(missing) == 0 {
			return got
		}
		if time.Now().After(deadline) {
			ex := missing
			if len(ex) > 5 {
				ex = ex[:5]
			}
			t.Fatalf("%d of %d lines never arrived in %s (e.g. %q); %d lines there", len(missing), len(want), dir, ex, len(got))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Missing returns the lines of want that got does not hold.
func Missing(want, got []string) []string {
	have := make(map[string]bool, len(got))
	for _, g := range got {
		have[g] = true
	}
	var out []string
	for _, w := range want {
		if !have[w] {
			out = append(out, w)
		}
	}
	return out
}

// Duplicates counts the lines of got beyond their first occurrence.
func Duplicates(got []string) int {
	seen := make(map[string]bool, len(got))
	n := 0
	for _, g := range got {
		if seen[g] {
			n++
		}
		seen[g] = true
	}
	return n
}

// Lines returns n distinct lines "<prefix>-<i>".
func Lines(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%06d", prefix, i)
	}
	return out
}

// Dir makes a subdirectory of the test's temporary directory.
func Dir(t *testing.T, name string) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// LogLine returns the first line of out that holds every one of parts, or
// "".
func LogLine(out string, parts ...string) string {
	for _, l := range strings.Split(out, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return l
		}
	}
	return ""
}

// Metrics fetches an agent's monitoring JSON (-Dflume.monitoring.type=http).
func Metrics(t *testing.T, port int) map[string]map[string]string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]map[string]string
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("metrics JSON %q: %v", body, err)
	}
	return m
}

// Produce writes lines to topic with the broker's console producer.
func Produce(t *testing.T, topic string, lines []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := broker.ConsoleProduce(ctx, topic, lines, ""); err != nil {
		t.Fatalf("console producer on %s: %v", topic, err)
	}
}

// ProduceKeyed writes lines to topic with the console producer, each with
// its own key, so that they spread over every partition (unkeyed records
// from the console producer stick to one partition per batch).
func ProduceKeyed(t *testing.T, topic string, lines []string) {
	t.Helper()
	keyed := make([]string, len(lines))
	for i, l := range lines {
		keyed[i] = fmt.Sprintf("k%d\t%s", i, l)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := broker.ConsoleProduce(ctx, topic, keyed, "\t"); err != nil {
		t.Fatalf("console producer on %s: %v", topic, err)
	}
}
