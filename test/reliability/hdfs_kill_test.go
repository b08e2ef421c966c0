package reliability

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// hdfsSink is an hdfs sink k1 of agent ag on channel c1 writing the
// bodies as text lines (DataStream) under dir on h, rolling every 1 MB so
// that kills land in rolls too.
func hdfsSink(ag string, h *peers.HDFS, dir string) string {
	return fmt.Sprintf(`%[1]s.sinks.k1.type = hdfs
%[1]s.sinks.k1.channel = c1
%[1]s.sinks.k1.hdfs.path = %[2]s%[3]s
%[1]s.sinks.k1.hdfs.filePrefix = %[1]s
%[1]s.sinks.k1.hdfs.fileType = DataStream
%[1]s.sinks.k1.hdfs.rollInterval = 0
%[1]s.sinks.k1.hdfs.rollCount = 0
%[1]s.sinks.k1.hdfs.rollSize = 1048576
%[1]s.sinks.k1.hdfs.batchSize = %[4]d
`, ag, h.URL(), dir, sinkBatch)
}

// hdfsReader reads every file under dir on h (in-use ones too, as far as
// HDFS lets them be read) with Hadoop's own FsShell, and counts the
// numbered lines.
func hdfsReader(h *peers.HDFS, dir string) readFunc {
	return func(int) (*seqCount, error) {
		es, err := h.Ls(dir, true)
		if err != nil {
			return nil, err
		}
		c := &seqCount{}
		for _, e := range es {
			if e.Dir {
				continue
			}
			b, err := h.Cat(e.Path)
			if err != nil {
				return nil, err
			}
			c.addLines(b)
		}
		return c, nil
	}
}

// inUse counts the files under dir still named as being written.
func inUse(t *testing.T, h *peers.HDFS, dir string) int {
	t.Helper()
	es, err := h.Ls(dir, true)
	if err != nil {
		t.Fatalf("ls %s: %v", dir, err)
	}
	n := 0
	for _, e := range es {
		if strings.HasSuffix(e.Path, ".tmp") {
			n++
		}
	}
	return n
}

// TestHDFSSinkKill9: avro → file channel → hdfs sink, the agent killed -9
// at random moments (some during start-up) while a client streams
// numbered events. Each start recovers the lease of the file the killed
// run was writing and renames it; the batch written but not committed
// comes again. Every acknowledged event is read back from HDFS, and once
// the agent stopped no file is left in use.
func TestHDFSSinkKill9(t *testing.T) {
	h := needHDFS(t, false)
	b := durations()
	dir := t.TempDir()
	hdir := fmt.Sprintf("/reliability/hdfs-sink-kill9-%d", time.Now().UnixNano())
	port := peers.FreePort(t)
	ag := newAgent(t, dir, "a1", avroSource("a1", port)+fileChannel("a1", filepath.Join(dir, "fc"))+hdfsSink("a1", h, hdir))
	ag.start()
	load := startAvroLoad(fmt.Sprintf("127.0.0.1:%d", port), clientBatch, b.rate)
	kills := killLoop(t, ag, b, newRand(t), hooks{})
	restarted := time.Now()
	acked, failures := load.Stop()
	read := hdfsReader(h, hdir)
	_, at := waitSeq(t, read, acked, 3*time.Minute)
	ag.stop()
	tl, _ := waitSeq(t, read, acked, time.Minute)
	if n := inUse(t, h, hdir); n > 0 {
		t.Errorf("%d file(s) still in use (.tmp) after the agent stopped", n)
	}
	check(t, result{
		Scenario: "hdfs-sink-kill9",
		Sent:     acked,
		DupBound: kills * (clientBatch + sinkBatch),
		Faults:   fmt.Sprintf("%d × kill -9 in %v (%d batch attempts failed and were resent)", kills, b.faultFor, failures),
		Recovery: since(restarted, at),
		Notes:    "Read back with Hadoop's FsShell (-cat of every file); files rolled at 1 MB.",
	}, tl)
}
