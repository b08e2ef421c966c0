package hdfs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/sinkloop"
	"github.com/sluiceio/sluice/test/peers"
)

// Events bucketed by time and header land in the right directories and
// files, read back by Hadoop's own -cat, event for event; a header value
// with ".." or "/" stays inside hdfs.path.
func TestDataStreamBucketsByTimeAndHeader(t *testing.T) {
	needHDFS(t)
	dir := testDir(t)
	f := newSink(t, "hdfs.path", dir+"/%Y%m%d/%H/%{host}", "hdfs.fileType", "DataStream",
		"hdfs.filePrefix", "ev-%{host}", "hdfs.timeZone", "UTC", "hdfs.rollCount", "0", "hdfs.rollSize", "0", "hdfs.rollInterval", "0")
	t1 := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC).UnixMilli()
	t2 := time.Date(2024, 5, 6, 9, 0, 0, 0, time.UTC).UnixMilli()
	want := map[string][]string{}
	for i := 0; i < 300; i++ {
		ts, host := t1, []string{"web1", "web2", "../up"}[i%3]
		if i%2 == 1 {
			ts = t2
		}
		body := fmt.Sprintf("event %03d", i)
		f.ch.Add(ev(body, "timestamp", strconv.FormatInt(ts, 10), "host", host))
		safe := sanitizeValue(host)
		d := fmt.Sprintf("%s/20240506/%s/%s", dir, time.UnixMilli(ts).UTC().Format("15"), safe)
		want[d] = append(want[d], body)
	}
	f.drain()
	f.stop()
	got := map[string][]string{}
	for _, e := range files(t, "/t") {
		if !strings.HasPrefix(e.Path, dir+"/") && !strings.Contains(e.Path, "up") {
			continue
		}
		if !strings.HasPrefix(e.Path, dir+"/") {
			t.Fatalf("a file escaped hdfs.path: %s", e.Path)
		}
		if strings.HasSuffix(e.Path, ".tmp") {
			t.Errorf("in-use file left after stop: %s", e.Path)
		}
		d := path.Dir(e.Path)
		if !strings.HasPrefix(path.Base(e.Path), "ev-"+path.Base(d)+".") {
			t.Errorf("file %s is not named after its prefix", e.Path)
		}
		got[d] = append(got[d], strings.Split(strings.TrimSuffix(cat(t, e.Path), "\n"), "\n")...)
	}
	if len(got) != len(want) {
		t.Fatalf("buckets: got %v, want %v", keys(got), keys(want))
	}
	for d, w := range want {
		if strings.Join(got[d], "|") != strings.Join(w, "|") {
			t.Errorf("bucket %s:\n got %q\nwant %q", d, got[d], w)
		}
	}
}

func keys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Flume's defaults: SequenceFile, Writable, 10 events a file. Hadoop's
// -text prints each record as key TAB value: the timestamp and the body's
// bytes in hex (BytesWritable) or the body (Text).
func TestSequenceFileReadByHadoop(t *testing.T) {
	needHDFS(t)
	for _, format := range []string{"Writable", "Text"} {
		t.Run(format, func(t *testing.T) {
			dir := testDir(t)
			f := newSink(t, "hdfs.path", dir, "hdfs.writeFormat", format, "hdfs.batchSize", "7")
			var want []string
			for i := 0; i < 25; i++ {
				body := fmt.Sprintf("line %d é", i)
				ts := int64(1700000000000 + i)
				f.ch.Add(ev(body, "timestamp", strconv.FormatInt(ts, 10)))
				v := body
				if format == "Writable" {
					v = hexBytes([]byte(body))
				}
				want = append(want, fmt.Sprintf("%d\t%s", ts, v))
			}
			f.drain()
			f.stop()
			fs := files(t, dir)
			if len(fs) != 3 {
				t.Fatalf("want 3 files (rollCount 10), got %v", fs)
			}
			var got []string
			for _, e := range fs {
				if !strings.HasPrefix(path.Base(e.Path), "FlumeData.") || strings.HasSuffix(e.Path, ".tmp") {
					t.Errorf("file name %s", e.Path)
				}
				got = append(got, strings.Split(strings.TrimSuffix(text(t, e.Path), "\n"), "\n")...)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("hadoop fs -text:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func hexBytes(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts, " ")
}

// Each codec Sluice writes, read back by Hadoop's -text (which picks the
// codec by the file's extension), event for event; and block-compressed
// SequenceFiles.
func TestCompressedReadByHadoop(t *testing.T) {
	needHDFS(t)
	cases := []struct{ fileType, codec, ext string }{
		{"CompressedStream", "gzip", ".gz"},
		{"CompressedStream", "DefaultCodec", ".deflate"},
		{"CompressedStream", "snappy", ".snappy"},
		{"CompressedStream", "lz4", ".lz4"},
		{"SequenceFile", "deflate", ".deflate"},
	}
	for _, c := range cases {
		t.Run(c.fileType+"-"+c.codec, func(t *testing.T) {
			dir := testDir(t)
			f := newSink(t, "hdfs.path", dir, "hdfs.fileType", c.fileType, "hdfs.codeC", c.codec,
				"hdfs.writeFormat", "Text", "hdfs.rollCount", "0", "hdfs.rollSize", "0", "hdfs.batchSize", "50")
			var want []string
			for i := 0; i < 400; i++ {
				body := fmt.Sprintf("compressed event %d %s", i, strings.Repeat("x", i%50))
				f.ch.Add(ev(body, "timestamp", "1700000000000"))
				if c.fileType == "SequenceFile" {
					body = "1700000000000\t" + body
				}
				want = append(want, body)
			}
			f.drain()
			f.stop()
			fs := files(t, dir)
			if len(fs) != 1 || !strings.HasSuffix(fs[0].Path, c.ext) {
				t.Fatalf("want one %s file, got %v", c.ext, fs)
			}
			got := strings.TrimSuffix(text(t, fs[0].Path), "\n")
			if got != strings.Join(want, "\n") {
				t.Fatalf("hadoop fs -text %s: got %d bytes, want %d:\n%.300s", fs[0].Path, len(got), len(strings.Join(want, "\n")), got)
			}
		})
	}
}

// Rolls: by count, by body size, by interval (the Idle call closes the
// file while the channel is empty), and idleTimeout.
func TestRolls(t *testing.T) {
	needHDFS(t)
	count := func(t *testing.T, dir string) []string {
		var out []string
		for _, e := range files(t, dir) {
			out = append(out, strings.TrimSuffix(cat(t, e.Path), "\n"))
		}
		return out
	}
	t.Run("count", func(t *testing.T) {
		dir := testDir(t)
		f := newSink(t, "hdfs.path", dir, "hdfs.fileType", "DataStream", "hdfs.rollCount", "4", "hdfs.rollSize", "0")
		for i := 0; i < 10; i++ {
			f.ch.Add(ev(strconv.Itoa(i)))
		}
		f.drain()
		f.stop()
		got := count(t, dir)
		if strings.Join(got, "|") != "0\n1\n2\n3|4\n5\n6\n7|8\n9" {
			t.Fatalf("files: %q", got)
		}
	})
	t.Run("size", func(t *testing.T) {
		dir := testDir(t)
		f := newSink(t, "hdfs.path", dir, "hdfs.fileType", "DataStream", "hdfs.rollCount", "0", "hdfs.rollSize", "10")
		for i := 0; i < 6; i++ {
			f.ch.Add(ev("abcd")) // 4 body bytes: a file takes 3 (12 >= 10)
		}
		f.drain()
		f.stop()
		if got := count(t, dir); len(got) != 2 || got[0] != "abcd\nabcd\nabcd" {
			t.Fatalf("files: %q", got)
		}
	})
	t.Run("interval", func(t *testing.T) {
		dir := testDir(t)
		f := newSink(t, "hdfs.path", dir, "hdfs.fileType", "DataStream", "hdfs.rollCount", "0", "hdfs.rollSize", "0", "hdfs.rollInterval", "1")
		f.ch.Add(ev("one"))
		f.drain()
		waitFor(t, func() bool {
			_, _ = f.loop.Process(context.Background()) // empty: Idle
			fs := files(t, dir)
			return len(fs) == 1 && !strings.HasSuffix(fs[0].Path, ".tmp")
		})
		f.ch.Add(ev("two"))
		f.drain()
		f.stop()
		if got := count(t, dir); strings.Join(got, "|") != "one|two" {
			t.Fatalf("files: %q", got)
		}
	})
	t.Run("idleTimeout", func(t *testing.T) {
		dir := testDir(t)
		f := newSink(t, "hdfs.path", dir, "hdfs.fileType", "DataStream", "hdfs.rollInterval", "0", "hdfs.idleTimeout", "1")
		f.ch.Add(ev("x"))
		f.drain()
		waitFor(t, func() bool {
			_, _ = f.loop.Process(context.Background())
			fs := files(t, dir)
			return len(fs) == 1 && !strings.HasSuffix(fs[0].Path, ".tmp")
		})
		if len(f.s.buckets) != 0 {
			t.Fatal("idle bucket not dropped")
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 2 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Without a timestamp header a time-bucketed event is rejected with an
// error saying what to do, and the batch stays in the channel.
func TestMissingTimestampStaysInChannel(t *testing.T) {
	needHDFS(t)
	dir := testDir(t)
	f := newSink(t, "hdfs.path", dir+"/%Y", "hdfs.fileType", "DataStream")
	f.ch.Add(ev("a", "timestamp", "1700000000000"), ev("b"))
	_, err := f.loop.Process(context.Background())
	if err == nil || !strings.Contains(err.Error(), "timestamp") {
		t.Fatalf("error: %v", err)
	}
	if f.ch.Len() != 2 {
		t.Fatalf("channel holds %d events, want 2", f.ch.Len())
	}
}

// A user without write access gets an error naming the path and the user,
// and the events stay in the channel; once access is granted they go.
func TestPermissionDenied(t *testing.T) {
	needHDFS(t)
	dir := testDir(t)
	if _, err := cluster.Shell("-mkdir", "-p", dir); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Shell("-chmod", "755", dir); err != nil {
		t.Fatal(err)
	}
	f := newSink(t, "hdfs.path", dir+"/sub", "hdfs.fileType", "DataStream", "hdfs.user", "mallory")
	for i := 0; i < 5; i++ {
		f.ch.Add(ev(strconv.Itoa(i)))
	}
	_, err := f.loop.Process(context.Background())
	if err == nil || !strings.Contains(err.Error(), "permission denied") || !strings.Contains(err.Error(), dir+"/sub") ||
		!strings.Contains(err.Error(), `"mallory"`) {
		t.Fatalf("error: %v", err)
	}
	if f.ch.Len() != 5 {
		t.Fatalf("channel holds %d events, want 5", f.ch.Len())
	}
	if _, err := cluster.Shell("-chmod", "777", dir); err != nil {
		t.Fatal(err)
	}
	f.drain()
	f.stop()
	fs := files(t, dir)
	if len(fs) != 1 || cat(t, fs[0].Path) != "0\n1\n2\n3\n4\n" {
		t.Fatalf("files after access granted: %v", fs)
	}
}

// The DataNode stops in the middle of the stream and starts again: every
// event reaches HDFS, none is lost and none appears twice, and no file
// stays in use.
func TestDataNodeOutage(t *testing.T) {
	needHDFS(t)
	dir := testDir(t)
	f := newSink(t, "hdfs.path", dir, "hdfs.fileType", "DataStream", "hdfs.rollCount", "0", "hdfs.rollSize", "0",
		"hdfs.rollInterval", "0", "hdfs.batchSize", "10", "hdfs.retryInterval", "1", "hdfs.callTimeout", "5000")
	n := 0
	add := func(k int) {
		for i := 0; i < k; i++ {
			f.ch.Add(ev(fmt.Sprintf("e%04d", n)))
			n++
		}
	}
	add(50)
	f.drain()
	if err := cluster.StopDataNode(); err != nil {
		t.Fatal(err)
	}
	add(50)
	var failed error
	for i := 0; i < 3 && failed == nil; i++ {
		_, failed = f.loop.Process(context.Background())
	}
	if failed == nil {
		t.Fatal("batches kept succeeding with the DataNode stopped")
	}
	t.Logf("with the DataNode stopped: %v", failed)
	if err := cluster.StartDataNode(); err != nil {
		t.Fatal(err)
	}
	last := ""
	waitFor(t, func() bool {
		st, err := f.loop.Process(context.Background())
		if msg := fmt.Sprint(st, err, f.ch.Len()); msg != last {
			last = msg
			t.Logf("after the DataNode restarted: %s (channel %d)", msg, f.ch.Len())
		}
		return f.ch.Len() == 0
	})
	add(50)
	f.drain()
	// The file the failed batch was in is recovered, cut back and renamed.
	waitFor(t, func() bool {
		if err := f.s.Idle(context.Background()); err != nil {
			t.Logf("idle: %v", err)
		}
		return len(f.s.pending) == 0
	})
	f.stop()
	for _, e := range files(t, dir) {
		if strings.HasSuffix(e.Path, ".tmp") {
			t.Errorf("in-use file left: %s", e.Path)
		}
	}
	var got []string
	for _, e := range files(t, dir) {
		if s := strings.TrimSuffix(cat(t, e.Path), "\n"); s != "" {
			got = append(got, strings.Split(s, "\n")...)
		}
	}
	sort.Strings(got)
	var want []string
	for i := 0; i < n; i++ {
		want = append(want, fmt.Sprintf("e%04d", i))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		seen := map[string]int{}
		for _, g := range got {
			seen[g]++
		}
		var missing, twice []string
		for _, w := range want {
			switch seen[w] {
			case 0:
				missing = append(missing, w)
			case 1:
			default:
				twice = append(twice, w)
			}
		}
		t.Fatalf("after the outage got %d events, want %d: missing %v, duplicated %v", len(got), len(want), missing, twice)
	}
}

// A crash (the sink dropped without Stop, its HDFS client gone) leaves an
// in-use file; the next start recovers its lease and renames it, and its
// committed events are all there.
func TestCrashLeavesNoInUseFile(t *testing.T) {
	needHDFS(t)
	dir := testDir(t)
	props := []string{"hdfs.path", dir + "/%{d}", "hdfs.fileType", "DataStream", "hdfs.rollCount", "0", "hdfs.rollSize", "0", "hdfs.rollInterval", "0"}
	f := newSink(t, props...)
	for i := 0; i < 20; i++ {
		f.ch.Add(ev(strconv.Itoa(i), "d", strconv.Itoa(i%2)))
	}
	f.drain()
	// Crash: the connection goes, the files stay open.
	_ = f.s.client.Close()
	f.s.stopped = true
	tmp := 0
	for _, e := range files(t, dir) {
		if strings.HasSuffix(e.Path, ".tmp") {
			tmp++
		}
	}
	if tmp != 2 {
		t.Fatalf("want 2 in-use files after the crash, got %d", tmp)
	}
	g := newSink(t, append([]string(nil), props...)...)
	waitFor(t, func() bool {
		if err := g.s.Idle(context.Background()); err != nil {
			t.Logf("idle: %v", err)
		}
		fs := files(t, dir)
		for _, e := range fs {
			if strings.HasSuffix(e.Path, ".tmp") {
				return false
			}
		}
		return len(fs) == 2
	})
	var got []string
	for _, e := range files(t, dir) {
		got = append(got, strings.Split(strings.TrimSuffix(cat(t, e.Path), "\n"), "\n")...)
	}
	sort.Strings(got)
	if len(got) != 20 {
		t.Fatalf("after recovery: %v", got)
	}
}

var _ = sluice.ErrClosed

// DataStream through the other serializers: HEADER_AND_TEXT lines and
// avro_event (an Avro container Hadoop's -text decodes to JSON records).
func TestDataStreamSerializers(t *testing.T) {
	needHDFS(t)
	t.Run("header_and_text", func(t *testing.T) {
		dir := testDir(t)
		f := newSink(t, "hdfs.path", dir, "hdfs.fileType", "DataStream", "serializer", "HEADER_AND_TEXT")
		f.ch.Add(ev("hello", "k", "v"))
		f.drain()
		f.stop()
		fs := files(t, dir)
		if len(fs) != 1 {
			t.Fatalf("files: %v", fs)
		}
		if got := cat(t, fs[0].Path); got != "{k=v} hello\n" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("avro_event", func(t *testing.T) {
		dir := testDir(t)
		f := newSink(t, "hdfs.path", dir, "hdfs.fileType", "DataStream", "serializer", "avro_event",
			"hdfs.fileSuffix", ".avro", "hdfs.batchSize", "2")
		for i := 0; i < 5; i++ {
			f.ch.Add(ev(fmt.Sprintf("body%d", i), "n", strconv.Itoa(i)))
		}
		f.drain()
		f.stop()
		fs := files(t, dir)
		if len(fs) != 1 || !strings.HasSuffix(fs[0].Path, ".avro") {
			t.Fatalf("files: %v", fs)
		}
		got := strings.Split(strings.TrimSuffix(text(t, fs[0].Path), "\n"), "\n")
		if len(got) != 5 {
			t.Fatalf("hadoop fs -text read %d records: %q", len(got), got)
		}
		for i, l := range got {
			if !strings.Contains(l, fmt.Sprintf(`"n":"%d"`, i)) || !strings.Contains(l, `"body"`) {
				t.Errorf("record %d: %s", i, l)
			}
		}
	})
}

// hdfs.maxOpenFiles: a bucket beyond the limit closes (and renames) the
// least recently used file.
func TestMaxOpenFiles(t *testing.T) {
	needHDFS(t)
	dir := testDir(t)
	f := newSink(t, "hdfs.path", dir+"/%{b}", "hdfs.fileType", "DataStream", "hdfs.maxOpenFiles", "2", "hdfs.rollCount", "0", "hdfs.rollSize", "0")
	for _, b := range []string{"a", "b", "a", "c"} {
		f.ch.Add(ev(b, "b", b))
		f.drain()
	}
	var closed, open []string
	for _, e := range files(t, dir) {
		if strings.HasSuffix(e.Path, ".tmp") {
			open = append(open, path.Base(path.Dir(e.Path)))
		} else {
			closed = append(closed, path.Base(path.Dir(e.Path)))
		}
	}
	if strings.Join(closed, ",") != "b" || strings.Join(open, ",") != "a,c" {
		t.Fatalf("closed %v, open %v; want b closed (least recently used), a and c open", closed, open)
	}
}

// A full HDFS (the directory's space quota reached): a clear error, the
// events stay in the channel, and they go once there is room.
func TestQuotaExceeded(t *testing.T) {
	needHDFS(t)
	dir := testDir(t)
	if _, err := cluster.Shell("-mkdir", "-p", dir); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.DFSAdmin("-setSpaceQuota", "1k", dir); err != nil {
		t.Fatal(err)
	}
	f := newSink(t, "hdfs.path", dir, "hdfs.fileType", "DataStream")
	for i := 0; i < 3; i++ {
		f.ch.Add(ev(strconv.Itoa(i)))
	}
	_, err := f.loop.Process(context.Background())
	if err == nil || !strings.Contains(err.Error(), "quota exceeded") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("error: %v", err)
	}
	if f.ch.Len() != 3 {
		t.Fatalf("channel holds %d events, want 3", f.ch.Len())
	}
	if _, err := cluster.DFSAdmin("-clrSpaceQuota", dir); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, _ = f.loop.Process(context.Background())
		return f.ch.Len() == 0
	})
	waitFor(t, func() bool {
		_ = f.s.Idle(context.Background())
		return len(f.s.pending) == 0
	})
	f.stop()
	var got []string
	for _, e := range files(t, dir) {
		got = append(got, cat(t, e.Path))
	}
	if strings.Join(got, "") != "0\n1\n2\n" {
		t.Fatalf("files after the quota was lifted: %q", got)
	}
}

// The whole cluster (NameNode too) goes away mid-stream and comes back:
// batches fail while it is away (the events stay in the channel), the sink
// connects again by itself, and every event is in HDFS once, with no file
// left in use.
func TestClusterRestart(t *testing.T) {
	needHDFS(t)
	dir := testDir(t)
	f := newSink(t, "hdfs.path", dir, "hdfs.fileType", "DataStream", "hdfs.rollCount", "0", "hdfs.rollSize", "0",
		"hdfs.rollInterval", "0", "hdfs.batchSize", "10", "hdfs.retryInterval", "1", "hdfs.callTimeout", "5000")
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
	add(30)
	if _, err := f.loop.Process(context.Background()); err == nil {
		t.Fatal("a batch succeeded with the cluster down")
	} else {
		t.Logf("with the cluster down: %v", err)
	}
	if f.ch.Len() != 30 {
		t.Fatalf("channel holds %d, want 30", f.ch.Len())
	}
	if err := cluster.Restart(); err != nil {
		t.Fatal(err)
	}
	last := ""
	waitFor(t, func() bool {
		if _, err := f.loop.Process(context.Background()); err != nil && err.Error() != last {
			last = err.Error()
			t.Logf("after the restart: %v", err)
		}
		return f.ch.Len() == 0
	})
	waitFor(t, func() bool {
		_ = f.s.Idle(context.Background())
		return len(f.s.pending) == 0
	})
	f.stop()
	var got []string
	for _, e := range files(t, dir) {
		if strings.HasSuffix(e.Path, ".tmp") {
			t.Errorf("in-use file left: %s", e.Path)
		}
		if s := strings.TrimSuffix(cat(t, e.Path), "\n"); s != "" {
			got = append(got, strings.Split(s, "\n")...)
		}
	}
	sort.Strings(got)
	var want []string
	for i := 0; i < n; i++ {
		want = append(want, fmt.Sprintf("r%04d", i))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("after the restart got %d events, want %d: %v", len(got), len(want), got)
	}
}

// The sink follows its DataNode connections: after a batch every data
// packet it sent has been acknowledged (what Java's hflush waits for), and
// it did not have to fall back to closing the file.
func TestFlushWaitsForAcks(t *testing.T) {
	needHDFS(t)
	dir := testDir(t)
	f := newSink(t, "hdfs.path", dir, "hdfs.fileType", "DataStream", "hdfs.rollCount", "0", "hdfs.rollSize", "0")
	for i := 0; i < 300; i++ {
		f.ch.Add(ev(strings.Repeat("y", 1000)))
	}
	f.drain()
	tr := f.s.acks
	tr.mu.Lock()
	var conns int
	for c := range tr.conns {
		conns++
		if c.bad || c.err != nil || c.sent < 3 || c.acked != c.sent {
			t.Errorf("connection: bad %v err %v sent %d acked %d", c.bad, c.err, c.sent, c.acked)
		}
	}
	tr.mu.Unlock()
	if conns != 1 || f.s.ackWarned {
		t.Fatalf("%d DataNode connections tracked (want 1), fell back to close+append: %v", conns, f.s.ackWarned)
	}
}

// Sluice's SequenceFile bytes equal Hadoop's own SequenceFile.Writer's for
// the same records and batches (the random sync marker taken from
// Hadoop's file), with enough data for the periodic sync markers too.
func TestSequenceFileBytesEqualHadoops(t *testing.T) {
	needHDFS(t)
	lib, err := peers.Lib("hdfs")
	if err != nil {
		t.Fatal(err)
	}
	java, err := peers.Java()
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"Writable", "Text"} {
		t.Run(format, func(t *testing.T) {
			var in strings.Builder
			var batches [][]*sluice.Event
			var cur []*sluice.Event
			for i := 0; i < 3000; i++ {
				ts := int64(1700000000000 + i*7)
				body := fmt.Sprintf("record %d %s", i, strings.Repeat("z", i%120))
				fmt.Fprintf(&in, "%d %s\n", ts, body)
				cur = append(cur, ev(body, "timestamp", strconv.FormatInt(ts, 10)))
				if i%250 == 249 {
					in.WriteString("FLUSH\n")
					batches = append(batches, cur)
					cur = nil
				}
			}
			out := filepath.Join(t.TempDir(), "hadoop.seq")
			cmd := exec.Command(java, "-cp", filepath.Join(lib, "*"), filepath.Join("testdata", "SeqWrite.java"), out, format)
			cmd.Stdin = strings.NewReader(in.String())
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("SeqWrite.java: %v\n%s", err, b)
			}
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			s := newSeqWriter(&got, format == "Text", false, time.Now)
			hlen := 4 + 1 + len(classLongWritable) + 1 + len(classBytesWritable) + 2 + 4
			if format == "Text" {
				hlen = 4 + 1 + len(classLongWritable) + 1 + len(classText) + 2 + 4
			}
			copy(s.sync[:], want[hlen:hlen+seqSyncSize])
			if err := s.header(); err != nil {
				t.Fatal(err)
			}
			for _, b := range batches {
				for _, e := range b {
					if err := s.append(e); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.flush(); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				i := 0
				for i < len(want) && i < got.Len() && want[i] == got.Bytes()[i] {
					i++
				}
				t.Fatalf("%d bytes, Hadoop wrote %d; first difference at offset %d", got.Len(), len(want), i)
			}
			t.Logf("%d bytes identical to Hadoop's SequenceFile.Writer", len(want))
		})
	}
}

// An in-use prefix instead of a suffix (".", so Hive and MapReduce skip
// open files): open files carry it, closed ones do not, and a crash's
// leftovers are found by it.
func TestInUsePrefix(t *testing.T) {
	needHDFS(t)
	dir := testDir(t)
	props := []string{"hdfs.path", dir, "hdfs.fileType", "DataStream", "hdfs.inUsePrefix", ".", "hdfs.emptyInUseSuffix", "true",
		"hdfs.fileSuffix", ".txt", "hdfs.rollCount", "2", "hdfs.rollSize", "0"}
	f := newSink(t, props...)
	for i := 0; i < 3; i++ {
		f.ch.Add(ev(strconv.Itoa(i)))
	}
	f.drain()
	var names []string
	for _, e := range files(t, dir) {
		names = append(names, path.Base(e.Path))
	}
	if len(names) != 2 || !strings.HasPrefix(names[0], ".FlumeData.") || !strings.HasSuffix(names[0], ".txt") ||
		!strings.HasPrefix(names[1], "FlumeData.") || !strings.HasSuffix(names[1], ".txt") {
		t.Fatalf("want one open .FlumeData.<n>.txt and one closed FlumeData.<n>.txt, got %v", names)
	}
	// Crash, then a new sink renames the open one.
	_ = f.s.client.Close()
	f.s.stopped = true
	g := newSink(t, props...)
	waitFor(t, func() bool {
		_ = g.s.Idle(context.Background())
		for _, e := range files(t, dir) {
			if strings.HasPrefix(path.Base(e.Path), ".") {
				return false
			}
		}
		return true
	})
	var got []string
	for _, e := range files(t, dir) {
		got = append(got, cat(t, e.Path))
	}
	if strings.Join(got, "") != "0\n1\n2\n" {
		t.Fatalf("contents: %q", got)
	}
}

type deadLetters struct{ got []sinkloop.Rejected }

func (d *deadLetters) Put(_ context.Context, r []sinkloop.Rejected) error {
	d.got = append(d.got, r...)
	return nil
}

// With a dead letter configured, an event without the timestamp its path
// needs is set aside with the reason, and the rest of the batch is written
// and committed.
func TestMissingTimestampToDeadLetter(t *testing.T) {
	needHDFS(t)
	dir := testDir(t)
	f := newSink(t, "hdfs.path", dir+"/%Y", "hdfs.fileType", "DataStream", "hdfs.timeZone", "UTC")
	dl := &deadLetters{}
	loop := sinkloop.New(sinkloop.Options{Name: "k1", Sink: f.s, Channel: f.ch, Counters: f.env.SinkCounters,
		Log: f.env.Logger, DeadLetter: dl, RetryFirst: time.Millisecond})
	f.ch.Add(ev("a", "timestamp", "1700000000000"), ev("no time"), ev("b", "timestamp", "1700000000001"))
	if _, err := loop.Process(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.ch.Len() != 0 || len(dl.got) != 1 || string(dl.got[0].Event.Body) != "no time" || !strings.Contains(dl.got[0].Reason, "timestamp") {
		t.Fatalf("channel %d, dead letters %+v", f.ch.Len(), dl.got)
	}
	f.stop()
	fs := files(t, dir)
	if len(fs) != 1 || !strings.HasPrefix(fs[0].Path, dir+"/2023/") || cat(t, fs[0].Path) != "a\nb\n" {
		t.Fatalf("files: %v", fs)
	}
}

// One batch that spans more buckets than hdfs.maxOpenFiles keeps them all
// open until it is written (none is lost or left in use), and the limit
// applies again with the next batch.
func TestMaxOpenFilesWithinOneBatch(t *testing.T) {
	needHDFS(t)
	dir := testDir(t)
	f := newSink(t, "hdfs.path", dir+"/%{b}", "hdfs.fileType", "DataStream", "hdfs.maxOpenFiles", "1", "hdfs.rollCount", "0", "hdfs.rollSize", "0")
	f.ch.Add(ev("a", "b", "a"), ev("b", "b", "b"), ev("c", "b", "c"), ev("a2", "b", "a"))
	f.drain()
	f.ch.Add(ev("d", "b", "d"))
	f.drain()
	if len(f.s.buckets) != 1 {
		t.Fatalf("%d buckets open after the next batch, want 1", len(f.s.buckets))
	}
	f.stop()
	got := map[string]string{}
	for _, e := range files(t, dir) {
		if strings.HasSuffix(e.Path, ".tmp") {
			t.Errorf("in-use file left: %s", e.Path)
		}
		got[path.Base(path.Dir(e.Path))] += cat(t, e.Path)
	}
	if got["a"] != "a\na2\n" || got["b"] != "b\n" || got["c"] != "c\n" || got["d"] != "d\n" {
		t.Fatalf("files: %q", got)
	}
}
