package kafka

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// durableSourceConf is sourceConf with a file channel under dir, so that
// events the source committed offsets for survive a kill -9 of the agent,
// and a short group session so that the others take a dead member's
// partitions over quickly.
func durableSourceConf(agent, topic, group, dir, out string) string {
	c := sourceConf(agent, topic, group, out,
		"kafka.consumer.session.timeout.ms = 6000",
		"kafka.consumer.heartbeat.interval.ms = 1000")
	c = strings.Replace(c, agent+".channels.c1.type = memory", agent+".channels.c1.type = file", 1)
	return c + fmt.Sprintf("%[1]s.channels.c1.checkpointDir = %[2]s\n%[1]s.channels.c1.dataDirs = %[3]s\n",
		agent, filepath.Join(dir, "checkpoint"), filepath.Join(dir, "data"))
}

// rollLinesOf is RollLines over several directories.
func rollLinesOf(t *testing.T, dirs ...string) []string {
	var all []string
	for _, d := range dirs {
		all = append(all, RollLines(t, d)...)
	}
	return all
}

// waitUnion waits until every line of want is in one of dirs.
func waitUnion(t *testing.T, want []string, timeout time.Duration, dirs ...string) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := rollLinesOf(t, dirs...)
		missing := Missing(want, got)
		if len(missing) == 0 {
			return got
		}
		if time.Now().After(deadline) {
			ex := missing
			if len(ex) > 5 {
				ex = ex[:5]
			}
			t.Fatalf("%d of %d lines never arrived (e.g. %q)", len(missing), len(want), ex)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func waitCond(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func hasPrefix(lines []string, p string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// Two agents in one consumer group share a topic's partitions; one is
// killed with SIGKILL while records flow. The other takes its partitions
// over and, once the killed agent is started again (its file channel still
// holds what it had accepted), every record has arrived: nothing lost.
// Duplicates are allowed (records read but not committed before the kill)
// and counted.
func TestSourceGroupSurvivesKill9(t *testing.T) {
	topic := Topic(t, 4)
	group := "g-" + topic
	dirA, dirB := t.TempDir(), t.TempDir()
	outA, outB := Dir(t, "outA"), Dir(t, "outB")
	confA := durableSourceConf("a", topic, group, dirA, outA)
	a := Agent(t, dirA, "a", confA)
	Agent(t, dirB, "b", durableSourceConf("b", topic, group, dirB, outB))

	// Both members get partitions: the first chunk reaches both outputs.
	c1 := Lines("c1", 4000)
	ProduceKeyed(t, topic, c1)
	waitUnion(t, c1, 2*time.Minute, outA, outB)
	if len(RollLines(t, outA)) == 0 || len(RollLines(t, outB)) == 0 {
		t.Fatalf("the group did not share the partitions: a has %d lines, b %d", len(RollLines(t, outA)), len(RollLines(t, outB)))
	}

	// Kill a while the second chunk flows.
	c2 := Lines("c2", 50000)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); ProduceKeyed(t, topic, c2) }()
	waitCond(t, "agent a reads the second chunk", 2*time.Minute, func() bool { return hasPrefix(RollLines(t, outA), "c2-") })
	a.Kill()
	atKill := len(RollLines(t, outA))
	wg.Wait()
	c3 := Lines("c3", 2000)
	ProduceKeyed(t, topic, c3)

	// b alone gets everything a had not committed...
	waitCond(t, "agent b reads the third chunk", 2*time.Minute, func() bool { return hasPrefix(RollLines(t, outB), "c3-") })
	// ...and a, restarted, delivers what its file channel still held.
	Agent(t, dirA, "a", confA)
	want := append(append(append([]string{}, c1...), c2...), c3...)
	got := waitUnion(t, want, 3*time.Minute, outA, outB)
	t.Logf("%d records, %d lines delivered, %d duplicates after the kill; a had written %d lines when killed", len(want), len(got), Duplicates(got), atKill)
}

// The broker is killed (SIGKILL) while the source runs and is restarted a
// while later. Nothing is lost, the source recovers by itself, and the
// outage is logged once when it begins and once when it ends, not once per
// poll or retry.
func TestSourceBrokerKilledAndRestarted(t *testing.T) {
	topic := Topic(t, 2)
	out := Dir(t, "out")
	a := Agent(t, t.TempDir(), "a1", sourceConf("a1", topic, "g-"+topic, out))
	outB := Dir(t, "outB")
	b := Agent(t, t.TempDir(), "b1", sourceConf("b1", topic, "gb-"+topic, outB))
	c1 := Lines("before", 1000)
	Produce(t, topic, c1)
	WaitDistinct(t, out, c1, 2*time.Minute)
	WaitDistinct(t, outB, c1, 2*time.Minute)

	if err := broker.Kill(); err != nil {
		t.Fatalf("kill the broker: %v", err)
	}
	const begin = "cannot connect to a Kafka broker"
	a.WaitLog(begin, time.Minute)
	// An agent stopped while the broker is away stops, within its
	// deadlines (leaving the group gives up), and cleanly.
	b.WaitLog(begin, time.Minute)
	stopped := make(chan error, 1)
	go func() { stopped <- b.Stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("agent b exit during the outage: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Errorf("agent b did not stop within 40 s of SIGTERM while the broker was away:\n%s", b.Output())
	}
	// Let a's client retry for a while longer before the broker returns.
	time.Sleep(10 * time.Second)
	if err := broker.Restart(); err != nil {
		t.Fatalf("restart the broker: %v\n%s", err, broker.LogTail())
	}
	c2 := Lines("after", 1000)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := broker.ConsoleProduce(ctx, topic, c2, ""); err != nil {
		t.Fatalf("produce after the restart: %v", err)
	}
	got := WaitDistinct(t, out, append(append([]string{}, c1...), c2...), 3*time.Minute)
	a.WaitLog("broker reachable again", time.Minute)

	log := a.Output()
	if n := strings.Count(log, begin); n != 1 {
		t.Errorf("the outage began %d times in the log, want once:\n%s", n, log)
	}
	if n := strings.Count(log, "cannot take part in the consumer group"); n > 1 {
		t.Errorf("the group session failure was logged %d times during the outage:\n%s", n, log)
	}
	// The outage, the partitions it lost, and at most a reminder a minute.
	if n := strings.Count(log, "level=WARN") + strings.Count(log, "level=ERROR") - strings.Count(log, "still failing"); n > 3 {
		t.Errorf("%d warnings and errors for one outage; want a handful:\n%s", n, log)
	}
	t.Logf("%d lines, %d duplicates; the agent's log:\n%s", len(got), Duplicates(got), log)
}

// Bootstrap servers where nothing listens: the agent starts, logs one clear
// error naming them, and stops promptly when asked (no hang).
func TestSourceUnreachableBootstrap(t *testing.T) {
	dead := fmt.Sprintf("127.0.0.1:%d", peers.FreePort(t))
	conf := strings.Replace(sourceConf("a1", "t", "g", Dir(t, "out")), broker.Addr, dead, 1)
	a := Agent(t, t.TempDir(), "a1", conf)
	a.WaitLogFunc("an error naming the bootstrap servers", func(out string) bool {
		return strings.Contains(out, "cannot reach kafka.bootstrap.servers") && strings.Contains(out, dead)
	}, time.Minute)
	done := make(chan error, 1)
	go func() { done <- a.Stop() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("agent exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the agent did not stop within 30 s of SIGTERM")
	}
	if n := strings.Count(a.Output(), "cannot connect to a Kafka broker"); n != 1 {
		t.Errorf("the unreachable broker was logged %d times, want once:\n%s", n, a.Output())
	}
}

// A topic that does not exist is named in the log; once it is created,
// the source reads it without a restart.
func TestSourceMissingTopic(t *testing.T) {
	topic := fmt.Sprintf("%s-later", strings.ReplaceAll(t.Name(), "/", "_"))
	out := Dir(t, "out")
	a := Agent(t, t.TempDir(), "a1", sourceConf("a1", topic, "g-"+topic, out))
	a.WaitLogFunc("an error naming the topic", func(out string) bool {
		return LogLine(out, "level=ERROR", "a topic of kafka.topics does not exist", "topic="+topic) != ""
	}, time.Minute)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := broker.CreateTopic(ctx, topic, 1); err != nil {
		t.Fatal(err)
	}
	a.WaitLogFunc("a line saying the topic exists", func(out string) bool {
		return LogLine(out, "the topic exists now", "topic="+topic) != ""
	}, time.Minute)
	want := Lines("late", 100)
	Produce(t, topic, want)
	WaitDistinct(t, out, want, 3*time.Minute)
}
