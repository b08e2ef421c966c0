package kafka

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// sendNetcat writes lines to a netcat source and fails unless each one was
// answered OK.
func sendNetcat(t *testing.T, addr string, lines []string) {
	t.Helper()
	var c net.Conn
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		if c, err = net.DialTimeout("tcp", addr, time.Second); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connect %s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer c.Close()
	errc := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(c)
		for _, l := range lines {
			if _, err := w.WriteString(l + "\n"); err != nil {
				errc <- err
				return
			}
		}
		errc <- w.Flush()
	}()
	r := bufio.NewReader(c)
	for i := range lines {
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		reply, err := r.ReadString('\n')
		if err != nil || reply != "OK\n" {
			t.Fatalf("line %d: reply %q, %v", i, reply, err)
		}
	}
	if err := <-errc; err != nil {
		t.Fatalf("write: %v", err)
	}
}

// One agent, two flows: netcat → memory → Kafka sink → topic → Kafka
// source → memory → file_roll. Every line arrives, and an event header
// travels as a Kafka record header and back (the sink's header.* and the
// source's header.*).
func TestNetcatKafkaSinkToSourceFileRoll(t *testing.T) {
	topic := Topic(t, 3)
	out := Dir(t, "out")
	port := peers.FreePort(t)
	conf := fmt.Sprintf(`a1.sources = nc ks
a1.channels = c1 c2
a1.sinks = kk fr

a1.sources.nc.type = netcat
a1.sources.nc.bind = 127.0.0.1
a1.sources.nc.port = %[1]d
a1.sources.nc.channels = c1
a1.sources.nc.interceptors = st
a1.sources.nc.interceptors.st.type = static
a1.sources.nc.interceptors.st.key = service
a1.sources.nc.interceptors.st.value = web
a1.channels.c1.type = memory
a1.channels.c1.capacity = 10000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.kk.type = kafka
a1.sinks.kk.channel = c1
a1.sinks.kk.kafka.bootstrap.servers = %[2]s
a1.sinks.kk.kafka.topic = %[3]s
a1.sinks.kk.flumeBatchSize = 500
a1.sinks.kk.header.service = X-Service

a1.sources.ks.type = kafka
a1.sources.ks.channels = c2
a1.sources.ks.kafka.bootstrap.servers = %[2]s
a1.sources.ks.kafka.topics = %[3]s
a1.sources.ks.kafka.consumer.group.id = g-%[3]s
a1.sources.ks.kafka.consumer.auto.offset.reset = earliest
a1.sources.ks.batchDurationMillis = 200
a1.sources.ks.header.svc = X-Service
a1.channels.c2.type = memory
a1.channels.c2.capacity = 10000
a1.channels.c2.transactionCapacity = 1000
a1.sinks.fr.type = file_roll
a1.sinks.fr.channel = c2
a1.sinks.fr.sink.directory = %[4]s
a1.sinks.fr.sink.rollInterval = 0
a1.sinks.fr.sink.serializer = avro_event
`, port, broker.Addr, topic, out)
	Agent(t, t.TempDir(), "a1", conf)
	want := Lines("nc", 3000)
	sendNetcat(t, fmt.Sprintf("127.0.0.1:%d", port), want)

	var got []peers.Event
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got = waitAvroEvents(t, out, 1, 2*time.Minute)
		var bodies []string
		for _, e := range got {
			bodies = append(bodies, string(e.Body))
		}
		if len(Missing(want, bodies)) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d lines missing", len(Missing(want, bodies)), len(want))
		}
		time.Sleep(300 * time.Millisecond)
	}
	for _, e := range got {
		if e.Headers["svc"] != "web" || e.Headers["topic"] != topic {
			t.Fatalf("event %q headers %v: want svc=web (via the Kafka header X-Service) and topic=%s", e.Body, e.Headers, topic)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d events, want %d (no failure happened)", len(got), len(want))
	}
}

// examples/kafka-fileroll.conf runs as written, but for the broker's
// address and the topic.
func TestKafkaFileRollExample(t *testing.T) {
	root, err := peers.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "examples", "kafka-fileroll.conf"))
	if err != nil {
		t.Fatal(err)
	}
	topic := Topic(t, 2)
	conf := strings.ReplaceAll(string(b), "localhost:9092", broker.Addr)
	conf = strings.ReplaceAll(conf, "kafka.topics = access-logs", "kafka.topics = "+topic)
	if conf == string(b) || !strings.Contains(conf, topic) {
		t.Fatal("the example no longer names localhost:9092 and the topic access-logs")
	}
	dir := t.TempDir()
	a := Agent(t, dir, "a1", conf)
	want := Lines("example", 500)
	Produce(t, topic, want)
	got := WaitDistinct(t, filepath.Join(dir, "out", "kafka"), want, 2*time.Minute)
	if len(got) != len(want) {
		t.Errorf("%d lines, want %d", len(got), len(want))
	}
	if err := a.Stop(); err != nil {
		t.Errorf("agent exit after SIGTERM: %v\n%s", err, a.Output())
	}
}
