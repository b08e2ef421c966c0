package kafka

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice/test/peers"
)

// examples/http-kafka.conf runs as written, but for the broker's address,
// the topic and the port: JSON batches POSTed to the http source become
// records of the topic, the body the value, the "key" header the record
// key, the "app" header a Kafka record header; every event once.
func TestHTTPKafkaExample(t *testing.T) {
	root, err := peers.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "examples", "http-kafka.conf"))
	if err != nil {
		t.Fatal(err)
	}
	topic := Topic(t, 4)
	port := strconv.Itoa(peers.FreePort(t))
	conf := strings.NewReplacer("localhost:9092", broker.Addr, "kafka.topic = clicks", "kafka.topic = "+topic,
		"port = 44480", "port = "+port).Replace(string(b))
	if strings.Contains(conf, "44480\n") || !strings.Contains(conf, "kafka.topic = "+topic) || !strings.Contains(conf, broker.Addr) {
		t.Fatal("the example no longer names localhost:9092, the topic clicks and port 44480")
	}
	a := Agent(t, t.TempDir(), "a1", conf)

	// 10 POSTs of 50 events, 5 users as keys.
	const posts, per = 10, 50
	want := map[string]string{} // body → key
	for p := 0; p < posts; p++ {
		var body bytes.Buffer
		body.WriteByte('[')
		for i := 0; i < per; i++ {
			if i > 0 {
				body.WriteByte(',')
			}
			n := p*per + i
			ev := fmt.Sprintf("user=%d item=%d", n%5, n)
			want[ev] = fmt.Sprintf("user-%d", n%5)
			fmt.Fprintf(&body, `{"headers":{"app":"shop","key":%q},"body":%q}`, want[ev], ev)
		}
		body.WriteByte(']')
		resp, err := http.Post("http://127.0.0.1:"+port+"/", "application/json", &body)
		if err != nil {
			t.Fatalf("POST %d: %v", p, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %d: status %d", p, resp.StatusCode)
		}
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	seen := map[string]int{}
	partOf := map[string]int32{} // key → partition
	n := 0
	for n < posts*per {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records from %s\n%s", n, posts*per, topic, a.Output())
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) {
			n++
			v := string(r.Value)
			seen[v]++
			if key, ok := want[v]; !ok || string(r.Key) != key {
				t.Errorf("record %q with key %q, want key %q", v, r.Key, key)
			}
			app := ""
			for _, h := range r.Headers {
				if h.Key == "app" {
					app = string(h.Value)
				}
			}
			if app != "shop" {
				t.Errorf("record %q: app header %q, want shop", v, app)
			}
			if p, ok := partOf[string(r.Key)]; ok && p != r.Partition {
				t.Errorf("key %q in partitions %d and %d", r.Key, p, r.Partition)
			}
			partOf[string(r.Key)] = r.Partition
		})
	}
	for v := range want {
		if seen[v] != 1 {
			t.Errorf("%q read %d times, want once", v, seen[v])
		}
	}
	if err := a.Stop(); err != nil {
		t.Errorf("agent exit after SIGTERM: %v\n%s", err, a.Output())
	}
}
