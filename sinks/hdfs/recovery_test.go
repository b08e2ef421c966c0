package hdfs

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// inUseFiles lists the files under dir still named as being written.
func inUseFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, e := range files(t, dir) {
		if strings.HasSuffix(e.Path, ".tmp") {
			out = append(out, e.Path)
		}
	}
	return out
}

// A file whose close failed while the whole cluster was away is retried
// as soon as the sink reaches HDFS again, not hdfs.retryInterval later:
// until then its committed events sat unreadable in a file under
// construction (found by test/reliability's hdfs-outage, where a roll's
// close failed as HDFS stopped and readers waited the default 3 minutes).
// retryInterval is 10 minutes here, so only the reconnect can have closed
// it within waitFor's 2 minutes.
func TestFailedCloseRetriedOnReconnect(t *testing.T) {
	needHDFS(t)
	dir := testDir(t)
	f := newSink(t, "hdfs.path", dir, "hdfs.fileType", "DataStream", "hdfs.rollCount", "0", "hdfs.rollSize", "0",
		"hdfs.rollInterval", "1", "hdfs.batchSize", "10", "hdfs.retryInterval", "600", "hdfs.callTimeout", "5000")
	n := 0
	add := func(k int) {
		for i := 0; i < k; i++ {
			f.ch.Add(ev(fmt.Sprintf("r%04d", n)))
			n++
		}
	}
	add(30)
	f.drain()
	if err := cluster.Kill(); err != nil {
		t.Fatal(err)
	}
	// The interval roll comes while the cluster is away: its close fails
	// and waits for a retry.
	waitFor(t, func() bool {
		_, _ = f.loop.Process(context.Background()) // empty: Idle
		return len(f.s.pending) == 1 && f.s.pending[0].tries > 0
	})
	if err := cluster.Restart(); err != nil {
		t.Fatal(err)
	}
	add(10)
	waitFor(t, func() bool {
		_, _ = f.loop.Process(context.Background())
		return f.ch.Len() == 0 && len(f.s.pending) == 0
	})
	f.stop()
	if tmp := inUseFiles(t, dir); len(tmp) != 0 {
		t.Fatalf("in-use files after the stop: %q", tmp)
	}
	var got []string
	for _, e := range files(t, dir) {
		if s := strings.TrimSuffix(cat(t, e.Path), "\n"); s != "" {
			got = append(got, strings.Split(s, "\n")...)
		}
	}
	sort.Strings(got)
	if len(got) != n || got[0] != "r0000" || got[n-1] != fmt.Sprintf("r%04d", n-1) {
		t.Fatalf("got %d events, want %d: %v", len(got), n, got)
	}
}

// A clean stop right after a start that found files a killed run left in
// use waits for their lease recovery (the NameNode needs a few seconds)
// and renames them, instead of leaving them in use until the next start
// (found by test/reliability's hdfs-sink-kill9).
func TestStopFinishesRecoveryUnderWay(t *testing.T) {
	needHDFS(t)
	dir := testDir(t)
	props := []string{"hdfs.path", dir, "hdfs.fileType", "DataStream", "hdfs.rollCount", "0", "hdfs.rollSize", "0", "hdfs.rollInterval", "0"}
	f := newSink(t, props...)
	for i := 0; i < 20; i++ {
		f.ch.Add(ev(fmt.Sprintf("e%02d", i)))
	}
	f.drain()
	// Crash: the connection goes, the file stays open with its lease.
	_ = f.s.client.Close()
	f.s.stopped = true
	if tmp := inUseFiles(t, dir); len(tmp) != 1 {
		t.Fatalf("in-use files after the crash: %q, want 1", tmp)
	}
	g := newSink(t, props...)
	g.ch.Add(ev("e20"))
	g.drain() // connects, finds the in-use file, asks for its lease
	g.stop()
	if tmp := inUseFiles(t, dir); len(tmp) != 0 {
		t.Fatalf("in-use files after a clean stop: %q", tmp)
	}
	var got []string
	for _, e := range files(t, dir) {
		got = append(got, strings.Split(strings.TrimSuffix(cat(t, e.Path), "\n"), "\n")...)
	}
	if sort.Strings(got); len(got) != 21 {
		t.Fatalf("after the stop: %v", got)
	}
}

// A close refused because the NameNode is in safe mode (as it is for a
// while after a restart) is tried again within seconds, not after
// hdfs.retryInterval (10 minutes here): found by test/reliability's
// hdfs-outage, where the file open when HDFS stopped stayed unreadable
// for 3 minutes after HDFS was back.
func TestCloseRetriedSoonAfterSafeMode(t *testing.T) {
	needHDFS(t)
	dir := testDir(t)
	f := newSink(t, "hdfs.path", dir, "hdfs.fileType", "DataStream", "hdfs.rollCount", "0", "hdfs.rollSize", "0",
		"hdfs.rollInterval", "1", "hdfs.retryInterval", "600")
	for i := 0; i < 10; i++ {
		f.ch.Add(ev(fmt.Sprintf("s%02d", i)))
	}
	f.drain()
	if _, err := cluster.DFSAdmin("-safemode", "enter"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = cluster.DFSAdmin("-safemode", "leave") })
	// The interval roll's close is refused: the file waits for a retry.
	waitFor(t, func() bool {
		_, _ = f.loop.Process(context.Background()) // empty: Idle
		return len(f.s.pending) == 1
	})
	if _, err := cluster.DFSAdmin("-safemode", "leave"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, _ = f.loop.Process(context.Background())
		return len(f.s.pending) == 0
	})
	if tmp := inUseFiles(t, dir); len(tmp) != 0 {
		t.Fatalf("in-use files: %q", tmp)
	}
	if got := strings.Count(cat(t, files(t, dir)[0].Path), "\n"); got != 10 {
		t.Fatalf("%d events in the closed file, want 10", got)
	}
}

// lastBlockUnplaced reads getBlockLocations' answer: a file being written,
// whose last block the NameNode placed on the running DataNode, is not
// "unplaced" (its lease may be recovered), nor is a closed file. (The
// unplaced case, a NameNode restarted before the DataNodes reported, is
// what test/reliability's hdfs-outage -reliability.long ran into: the
// NameNode dropped the block, 11,012 committed events with it.)
func TestLastBlockPlaced(t *testing.T) {
	needHDFS(t)
	dir := testDir(t)
	f := newSink(t, "hdfs.path", dir, "hdfs.fileType", "DataStream", "hdfs.rollCount", "0", "hdfs.rollSize", "0", "hdfs.rollInterval", "0")
	for i := 0; i < 20; i++ {
		f.ch.Add(ev(fmt.Sprintf("p%02d", i)))
	}
	f.drain()
	tmp := inUseFiles(t, dir)
	if len(tmp) != 1 {
		t.Fatalf("in-use files: %q, want 1", tmp)
	}
	unplaced, err := lastBlockUnplaced(f.s.client, tmp[0])
	if err != nil || unplaced {
		t.Fatalf("open file %s: unplaced %v, err %v; want false, nil", tmp[0], unplaced, err)
	}
	f.stop()
	g := newSink(t, "hdfs.path", dir)
	g.ch.Add(ev("x", "timestamp", "0"))
	_ = g.s.connect()
	closed := files(t, dir)[0].Path
	if unplaced, err := lastBlockUnplaced(g.s.client, closed); err != nil || unplaced {
		t.Fatalf("closed file %s: unplaced %v, err %v; want false, nil", closed, unplaced, err)
	}
}
