package reliability

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

const (
	clientBatch = 100 // events per appendBatch of the load generator
	sinkBatch   = 100 // batch size of every sink in these pipelines
)

// fileChannel is the properties of a file channel named c1 of agent ag
// keeping its state under dir, with small segments and frequent
// checkpoints so that kills land in rolls and checkpoints too.
func fileChannel(ag, dir string) string {
	return fmt.Sprintf(`%[1]s.channels.c1.type = file
%[1]s.channels.c1.checkpointDir = %[2]s/checkpoint
%[1]s.channels.c1.dataDirs = %[2]s/data
%[1]s.channels.c1.checkpointInterval = 1000
%[1]s.channels.c1.maxFileSize = 1048576
%[1]s.channels.c1.minimumRequiredSpace = 1048576
%[1]s.channels.c1.capacity = 1000000
%[1]s.channels.c1.transactionCapacity = 1000
`, ag, dir)
}

// fileRoll is a file_roll sink k1 of agent ag on channel c1 writing one
// file per run into out.
func fileRoll(ag, out string) string {
	return fmt.Sprintf(`%[1]s.sinks.k1.type = file_roll
%[1]s.sinks.k1.channel = c1
%[1]s.sinks.k1.sink.directory = %[2]s
%[1]s.sinks.k1.sink.rollInterval = 0
%[1]s.sinks.k1.sink.batchSize = %[3]d
`, ag, out, sinkBatch)
}

// avroSource is an avro source r1 of agent ag on port, into channel c1.
func avroSource(ag string, port int) string {
	return fmt.Sprintf(`%[1]s.sources = r1
%[1]s.channels = c1
%[1]s.sinks = k1
%[1]s.sources.r1.type = avro
%[1]s.sources.r1.bind = 127.0.0.1
%[1]s.sources.r1.port = %[2]d
%[1]s.sources.r1.channels = c1
`, ag, port)
}

// TestFileChannelKill9: avro → file channel → file_roll, the agent killed
// -9 at random moments while a client streams numbered events and resends
// what was not acknowledged. Every acknowledged event arrives; duplicates
// are at most a client batch and a sink batch per kill.
func TestFileChannelKill9(t *testing.T) {
	needBinary(t)
	b := durations()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	port := peers.FreePort(t)
	ag := newAgent(t, dir, "a1", avroSource("a1", port)+fileChannel("a1", dir)+fileRoll("a1", out))
	ag.start()
	load := startAvroLoad(fmt.Sprintf("127.0.0.1:%d", port), clientBatch, b.rate)
	kills := killLoop(t, ag, b, newRand(t), hooks{})
	restarted := time.Now()
	acked, failures := load.Stop()
	tl, at := waitArrived(t, out, acked, 3*time.Minute)
	ag.stop()
	check(t, result{
		Scenario: "filechannel-kill9",
		Sent:     acked,
		DupBound: kills * (clientBatch + sinkBatch),
		Faults:   fmt.Sprintf("%d × kill -9 in %v (%d batch attempts failed and were resent)", kills, b.faultFor, failures),
		Recovery: since(restarted, at),
	}, tl)
}

// since is at - from, or -1 when at never came.
func since(from, at time.Time) time.Duration {
	if at.IsZero() {
		return -1
	}
	return at.Sub(from)
}

// forwarder is a first tier ag: an avro source on port into a memory
// channel of capacity events, and an avro sink to 127.0.0.1:next.
func forwarder(ag string, port, capacity, next int) string {
	return avroSource(ag, port) + fmt.Sprintf(`%[1]s.channels.c1.type = memory
%[1]s.channels.c1.capacity = %[2]d
%[1]s.channels.c1.transactionCapacity = 1000
%[1]s.sinks.k1.type = avro
%[1]s.sinks.k1.channel = c1
%[1]s.sinks.k1.hostname = 127.0.0.1
%[1]s.sinks.k1.port = %[3]d
%[1]s.sinks.k1.batch-size = %[4]d
%[1]s.sinks.k1.connect-timeout = 2000
`, ag, capacity, next, sinkBatch)
}

// TestTwoTierKill9: client → tier 1 (avro → memory channel → avro sink) →
// tier 2 (avro → file channel → file_roll), the second tier killed -9
// repeatedly. The first tier keeps what tier 2 did not acknowledge and
// sends it again once tier 2 is back: nothing lost, duplicates at most a
// batch of each tier's sink per kill.
func TestTwoTierKill9(t *testing.T) {
	needBinary(t)
	b := durations()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	p1, p2 := peers.FreePort(t), peers.FreePort(t)
	a1 := newAgent(t, dir, "t1", forwarder("t1", p1, 1000000, p2))
	a2 := newAgent(t, dir, "t2", avroSource("t2", p2)+fileChannel("t2", dir)+fileRoll("t2", out))
	a2.start()
	a1.start()
	load := startAvroLoad(fmt.Sprintf("127.0.0.1:%d", p1), clientBatch, b.rate)
	kills := killLoop(t, a2, b, newRand(t), hooks{})
	restarted := time.Now()
	acked, failures := load.Stop()
	tl, at := waitArrived(t, out, acked, 3*time.Minute)
	a1.stop()
	a2.stop()
	check(t, result{
		Scenario: "twotier-kill9",
		Sent:     acked,
		DupBound: kills * (sinkBatch + sinkBatch),
		Faults:   fmt.Sprintf("%d × kill -9 of tier 2 in %v (client: %d failed attempts)", kills, b.faultFor, failures),
		Recovery: since(restarted, at),
	}, tl)
}
