package kafka

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice/test/peers"
)

// kafkaChannel is the properties of a Kafka channel c1 of agent on topic
// and group. The session timeout is short so that a killed member's
// partitions move to the others within seconds.
func kafkaChannel(agent, topic, group string) string {
	return fmt.Sprintf(`%[1]s.channels.c1.type = org.apache.flume.channel.kafka.KafkaChannel
%[1]s.channels.c1.kafka.bootstrap.servers = %[2]s
%[1]s.channels.c1.kafka.topic = %[3]s
%[1]s.channels.c1.kafka.consumer.group.id = %[4]s
%[1]s.channels.c1.kafka.consumer.session.timeout.ms = 6000
%[1]s.channels.c1.kafka.consumer.heartbeat.interval.ms = 1000
`, agent, broker.Addr, topic, group)
}

// seqIntoChannel is an agent whose seq source puts n numbered events into
// the Kafka channel (no sink).
func seqIntoChannel(agent, topic string, n int, extra ...string) string {
	s := fmt.Sprintf(`%[1]s.sources = r1
%[1]s.channels = c1
%[1]s.sources.r1.type = seq
%[1]s.sources.r1.totalEvents = %[2]d
%[1]s.sources.r1.batchSize = 500
%[1]s.sources.r1.channels = c1
`, agent, n) + kafkaChannel(agent, topic, "unused-"+topic)
	for _, e := range extra {
		s += agent + "." + e + "\n"
	}
	return s
}

// channelToFileRoll is an agent that takes from the Kafka channel into
// file_roll in out.
func channelToFileRoll(agent, topic, group, out string, extra ...string) string {
	s := fmt.Sprintf(`%[1]s.channels = c1
%[1]s.sinks = k1
%[1]s.sinks.k1.type = file_roll
%[1]s.sinks.k1.channel = c1
%[1]s.sinks.k1.sink.directory = %[2]s
%[1]s.sinks.k1.sink.rollInterval = 0
%[1]s.sinks.k1.sink.batchSize = 100
`, agent, out) + kafkaChannel(agent, topic, group)
	for _, e := range extra {
		s += agent + "." + e + "\n"
	}
	return s
}

// records is the number of records in topic (the sum of its end offsets).
func records(t *testing.T, topic string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// waitRecords waits until topic holds n records.
func waitRecords(t *testing.T, topic string, n int64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got := records(t, topic)
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s holds %d records, want %d", topic, got, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func numbers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}

// A source puts into the Kafka channel and a file_roll sink takes from it
// in one agent: every event arrives, once (nothing failed).
func TestSeqThroughKafkaChannelToFileRoll(t *testing.T) {
	topic := Topic(t, 3)
	out := Dir(t, "out")
	conf := `a1.sources = r1
a1.sources.r1.type = seq
a1.sources.r1.totalEvents = 5000
a1.sources.r1.batchSize = 500
a1.sources.r1.channels = c1
` + channelToFileRoll("a1", topic, "g", out)
	Agent(t, t.TempDir(), "a1", conf)
	got := WaitDistinct(t, out, numbers(5000), 2*time.Minute)
	if len(got) != 5000 {
		t.Errorf("%d lines for 5000 events (%d duplicates) without any failure", len(got), Duplicates(got))
	}
}

// Two agents take from one channel topic in one group: both get a share,
// and when either is killed (-9) with takes open, the other delivers what
// it had not committed.
func TestTwoAgentsShareAChannelAndSurviveKill9(t *testing.T) {
	for _, victim := range []string{"first", "second"} {
		t.Run("kill "+victim, func(t *testing.T) {
			topic := Topic(t, 4)
			const n = 40000
			// Random keys spread the events over the four partitions.
			Agent(t, t.TempDir(), "p", seqIntoChannel("p", topic, n,
				"sources.r1.interceptors = i1",
				"sources.r1.interceptors.i1.type = uuid",
				"sources.r1.interceptors.i1.headerName = key"))
			waitRecords(t, topic, n)

			outA, outB := Dir(t, "a"), Dir(t, "b")
			a := Agent(t, t.TempDir(), "a", channelToFileRoll("a", topic, "g", outA))
			b := Agent(t, t.TempDir(), "b", channelToFileRoll("b", topic, "g", outB))
			deadline := time.Now().Add(2 * time.Minute)
			// Both are well into their shares before one is killed.
			for len(RollLines(t, outA)) < 2000 || len(RollLines(t, outB)) < 2000 {
				if time.Now().After(deadline) {
					t.Fatalf("the agents did not both take: %d and %d lines", len(RollLines(t, outA)), len(RollLines(t, outB)))
				}
				time.Sleep(20 * time.Millisecond)
			}
			kill, keep := a, outB
			if victim == "second" {
				kill, keep = b, outA
			}
			kill.Kill()
			atKill := len(RollLines(t, outA)) + len(RollLines(t, outB))
			want := numbers(n)
			deadline = time.Now().Add(3 * time.Minute)
			for {
				all := append(RollLines(t, outA), RollLines(t, outB)...)
				missing := Missing(want, all)
				if len(missing) == 0 {
					t.Logf("%d lines written when killed; %d duplicates after (taken, not committed); survivor wrote %d",
						atKill, Duplicates(all), len(RollLines(t, keep)))
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d events lost after kill -9 of the %s agent (e.g. %q)", len(missing), n, victim, missing[:min(5, len(missing))])
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}

// flumeKafkaChannel is a Flume 1.11 agent's Kafka channel c1.
func flumeKafkaChannel(agent, topic, group string) string {
	return fmt.Sprintf(`%[1]s.channels.c1.type = org.apache.flume.channel.kafka.KafkaChannel
%[1]s.channels.c1.kafka.bootstrap.servers = %[2]s
%[1]s.channels.c1.kafka.topic = %[3]s
%[1]s.channels.c1.kafka.consumer.group.id = %[4]s
`, agent, broker.Addr, topic, group)
}

// avroEvents polls dir (file_roll with the avro_event serializer) until it
// holds n events.
func avroEvents(t *testing.T, dir string, n int) []peers.Event {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		evs, err := peers.ReadAvroEventDir(dir)
		if err == nil && len(evs) >= n {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d events (%v)", dir, len(evs), n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func checkEvents(t *testing.T, evs []peers.Event, n int, header, value string) {
	t.Helper()
	var bodies []string
	for _, e := range evs {
		if e.Headers[header] != value || e.Headers["key"] != "k" {
			t.Fatalf("event %q has headers %v; want %s=%s and key=k", e.Body, e.Headers, header, value)
		}
		bodies = append(bodies, string(e.Body))
	}
	sort.Slice(bodies, func(i, j int) bool { a, _ := strconv.Atoi(bodies[i]); b, _ := strconv.Atoi(bodies[j]); return a < b })
	if strings.Join(bodies, ",") != strings.Join(numbers(n), ",") {
		t.Fatalf("bodies %v; want 0..%d once each", bodies, n-1)
	}
}

// Apache Flume 1.11 puts into its Kafka channel; Sluice takes from the same
// topic: every event arrives with its headers.
func TestFlumePutsSluiceTakes(t *testing.T) {
	topic := Topic(t, 2)
	const n = 200
	peers.StartFlume(t, peers.FlumeOptions{Peer: "flume-kafka", Agent: "f", JVMFlags: peers.FastStartFlags, Conf: `f.sources = r1
f.channels = c1
f.sources.r1.type = seq
f.sources.r1.totalEvents = 200
f.sources.r1.channels = c1
f.sources.r1.interceptors = i1 i2
f.sources.r1.interceptors.i1.type = static
f.sources.r1.interceptors.i1.key = origin
f.sources.r1.interceptors.i1.value = flume
f.sources.r1.interceptors.i2.type = static
f.sources.r1.interceptors.i2.key = key
f.sources.r1.interceptors.i2.value = k
` + flumeKafkaChannel("f", topic, "flume-unused")})
	waitRecords(t, topic, n)
	out := Dir(t, "out")
	Agent(t, t.TempDir(), "a1", channelToFileRoll("a1", topic, "sluice", out, "sinks.k1.sink.serializer = avro_event"))
	checkEvents(t, avroEvents(t, out, n), n, "origin", "flume")
}

// Sluice puts into the Kafka channel; Apache Flume 1.11 takes from the same
// topic with its Kafka channel: every event arrives with its headers.
func TestSluicePutsFlumeTakes(t *testing.T) {
	topic := Topic(t, 2)
	const n = 200
	Agent(t, t.TempDir(), "a1", seqIntoChannel("a1", topic, n,
		"sources.r1.interceptors = i1 i2",
		"sources.r1.interceptors.i1.type = static",
		"sources.r1.interceptors.i1.key = origin",
		"sources.r1.interceptors.i1.value = sluice",
		"sources.r1.interceptors.i2.type = static",
		"sources.r1.interceptors.i2.key = key",
		"sources.r1.interceptors.i2.value = k"))
	waitRecords(t, topic, n)
	out := Dir(t, "out")
	peers.StartFlume(t, peers.FlumeOptions{Peer: "flume-kafka", Agent: "f", JVMFlags: peers.FastStartFlags, Conf: `f.channels = c1
f.sinks = k1
f.sinks.k1.type = file_roll
f.sinks.k1.channel = c1
f.sinks.k1.sink.directory = ` + out + `
f.sinks.k1.sink.rollInterval = 0
f.sinks.k1.sink.serializer = avro_event
` + flumeKafkaChannel("f", topic, "flume"), ReadyLog: "Component type: SINK, name: k1"})
	checkEvents(t, avroEvents(t, out, n), n, "origin", "sluice")
}

// examples/kafka-channel.conf runs as written, but for the broker's
// address, the topic and the port.
func TestKafkaChannelExample(t *testing.T) {
	topic := Topic(t, 3)
	root, err := peers.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(root, "examples", "kafka-channel.conf"))
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(peers.FreePort(t))
	text := strings.NewReplacer("localhost:9092", broker.Addr, "= flume-channel", "= "+topic, "44448", port).Replace(string(conf))
	a := Agent(t, t.TempDir(), "a1", text)
	conn, err := net.Dial("tcp", "localhost:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	for _, l := range []string{"via kafka 1", "via kafka 2"} {
		fmt.Fprintln(conn, l)
		if reply, err := r.ReadString('\n'); err != nil || reply != "OK\n" {
			t.Fatalf("netcat reply %q, %v", reply, err)
		}
	}
	a.WaitLog("via kafka 1 }", time.Minute)
	a.WaitLog("via kafka 2 }", time.Minute)
	if records(t, topic) != 2 {
		t.Errorf("topic %s holds %d records, want 2", topic, records(t, topic))
	}
}

// seqKafkaNull is an agent: seq (n events) → Kafka channel → null sink.
func seqKafkaNull(agent, topic string, n int) string {
	return fmt.Sprintf(`%[1]s.sources = r1
%[1]s.channels = c1
%[1]s.sinks = k1
%[1]s.sources.r1.type = seq
%[1]s.sources.r1.totalEvents = %[2]d
%[1]s.sources.r1.channels = c1
%[1]s.sinks.k1.type = null
%[1]s.sinks.k1.channel = c1
`, agent, n) + flumeKafkaChannel(agent, topic, "g-"+topic)
}

// waitChannelCounters polls an agent's monitoring until its channel c1
// counted n take successes, and returns c1's attributes.
func waitChannelCounters(t *testing.T, port, n int) map[string]string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		m := Metrics(t, port)["CHANNEL.c1"]
		if m["EventTakeSuccessCount"] == strconv.Itoa(n) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("CHANNEL.c1 never counted %d takes: %v", n, m)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The same agent (seq → Kafka channel → null) run by Flume 1.11 and by
// Sluice reports the same channel attributes and values, but for timers.
func TestChannelCountersMatchFlume(t *testing.T) {
	const n = 300
	fport, sport := peers.FreePort(t), peers.FreePort(t)
	peers.StartFlume(t, peers.FlumeOptions{Peer: "flume-kafka", Agent: "f",
		JVMFlags: append([]string{"-Dflume.monitoring.type=http", "-Dflume.monitoring.port=" + strconv.Itoa(fport)}, peers.FastStartFlags...),
		Conf:     seqKafkaNull("f", Topic(t, 1), n)})
	peers.StartSluiceAgent(t, binary, t.TempDir(), "a1", seqKafkaNull("a1", Topic(t, 1), n),
		"-Dflume.monitoring.type=http", "-Dflume.monitoring.port="+strconv.Itoa(sport))
	fm := waitChannelCounters(t, fport, n)
	sm := waitChannelCounters(t, sport, n)
	t.Logf("Flume %v\nSluice %v", fm, sm)
	for k, fv := range fm {
		sv, ok := sm[k]
		switch {
		case !ok:
			t.Errorf("Sluice lacks %s (Flume: %s)", k, fv)
		case strings.HasSuffix(k, "Timer") || strings.HasSuffix(k, "Time"):
		case sv != fv:
			t.Errorf("%s: Flume %s, Sluice %s", k, fv, sv)
		}
	}
	for k := range sm {
		if _, ok := fm[k]; !ok {
			t.Errorf("Sluice reports %s, which Flume does not", k)
		}
	}
}

// A Flume 1.11 agent and a Sluice agent take from one channel topic in one
// consumer group, as during a migration one agent at a time: the group
// forms (Flume's Kafka client 2.7 knows only the range assignor), both get
// a share, and every event arrives.
func TestFlumeAndSluiceShareAGroup(t *testing.T) {
	topic := Topic(t, 4)
	const n = 4000
	fout, sout := Dir(t, "flume"), Dir(t, "sluice")
	f := peers.StartFlume(t, peers.FlumeOptions{Peer: "flume-kafka", Agent: "f", JVMFlags: peers.FastStartFlags, Conf: `f.channels = c1
f.sinks = k1
f.sinks.k1.type = file_roll
f.sinks.k1.channel = c1
f.sinks.k1.sink.directory = ` + fout + `
f.sinks.k1.sink.rollInterval = 0
f.sinks.k1.sink.batchSize = 10
` + flumeKafkaChannel("f", topic, "shared") + `f.channels.c1.kafka.consumer.max.poll.records = 10
`, ReadyLog: "Component type: SINK, name: k1"})
	// Flume's consumer joins on its sink's first take.
	if err := f.WaitLog(" assigned.", 2*time.Minute); err != nil {
		t.Fatalf("Flume's channel never joined the group: %v\n%s", err, f.LogTail())
	}
	s := Agent(t, t.TempDir(), "a1", channelToFileRoll("a1", topic, "shared", sout, "sinks.k1.sink.batchSize = 10"))
	// The group rebalanced: two partitions each (range).
	two := regexp.MustCompile(`partitions assigned.*partitions="\[\d \d\]"`)
	s.WaitLogFunc("a share of two partitions", two.MatchString, 2*time.Minute)
	// A random key per event spreads the events over all four partitions.
	Agent(t, t.TempDir(), "p", seqIntoChannel("p", topic, n,
		"sources.r1.interceptors = i1",
		"sources.r1.interceptors.i1.type = uuid",
		"sources.r1.interceptors.i1.headerName = key"))
	want := numbers(n)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		f, sl := RollLines(t, fout), RollLines(t, sout)
		if len(Missing(want, append(f, sl...))) == 0 {
			t.Logf("Flume took %d, Sluice %d (%d duplicates)", len(f), len(sl), Duplicates(append(f, sl...)))
			if len(sl) == 0 || len(f) == 0 {
				t.Errorf("one agent did all the work: Flume %d, Sluice %d", len(f), len(sl))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events missing; Flume took %d, Sluice %d\n%s", len(Missing(want, append(f, sl...))), n, len(f), len(sl), s.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
