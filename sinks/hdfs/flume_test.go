package hdfs

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// Apache Flume 1.11's own HDFS sink and Sluice's write the same events
// (a seq source's 0..99) to the same cluster with the same properties:
// the same number of files, named alike, with the same records in each,
// for DataStream and for SequenceFile (Text values; the keys are the
// clock, since seq events carry no timestamp).
func TestSameFilesAsFlume(t *testing.T) {
	needHDFS(t)
	base := testDir(t)
	const n = 100
	conf := fmt.Sprintf(`a1.sources = r1
a1.channels = c1 c2
a1.sinks = k1 k2
a1.sources.r1.type = seq
a1.sources.r1.totalEvents = %d
a1.sources.r1.channels = c1 c2
a1.channels.c1.type = memory
a1.channels.c2.type = memory
a1.sinks.k1.type = hdfs
a1.sinks.k1.channel = c1
a1.sinks.k1.hdfs.path = %s%s/flume-ds
a1.sinks.k1.hdfs.fileType = DataStream
a1.sinks.k1.hdfs.rollInterval = 0
a1.sinks.k2.type = hdfs
a1.sinks.k2.channel = c2
a1.sinks.k2.hdfs.path = %s%s/flume-seq
a1.sinks.k2.hdfs.writeFormat = Text
a1.sinks.k2.hdfs.rollInterval = 0
`, n, cluster.URL(), base, cluster.URL(), base)
	fl := peers.StartFlume(t, peers.FlumeOptions{Peer: "flume-hdfs", Conf: conf, JVMFlags: peers.FastStartFlags})
	count := func(dir string) int {
		es, err := cluster.Ls(dir, false)
		if err != nil {
			return 0
		}
		return len(es)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for count(base+"/flume-ds") < n/10 || count(base+"/flume-seq") < n/10 {
		if time.Now().After(deadline) {
			t.Fatalf("Flume did not write %d files into each directory within 3 minutes; its log:\n%s", n/10, fl.LogTail())
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Flume closes its last files at stop.
	if err := fl.Stop(); err != nil {
		t.Fatalf("stopping Flume: %v", err)
	}

	for _, c := range []struct {
		dir   string
		props []string
	}{
		{"ds", []string{"hdfs.fileType", "DataStream", "hdfs.rollInterval", "0"}},
		{"seq", []string{"hdfs.writeFormat", "Text", "hdfs.rollInterval", "0"}},
	} {
		f := newSink(t, append([]string{"hdfs.path", base + "/sluice-" + c.dir}, c.props...)...)
		for i := 0; i < n; i++ {
			f.ch.Add(ev(strconv.Itoa(i)))
		}
		f.drain()
		f.stop()
		flume, sluice := readAll(t, base+"/flume-"+c.dir), readAll(t, base+"/sluice-"+c.dir)
		if len(flume) != n/10 || flume[0] != "0,1,2,3,4,5,6,7,8,9" {
			t.Fatalf("%s: Flume wrote %q, want %d files of 10 events", c.dir, flume, n/10)
		}
		if strings.Join(flume, "|") != strings.Join(sluice, "|") {
			t.Errorf("%s: files differ:\nFlume  %q\nSluice %q", c.dir, flume, sluice)
		}
	}
}

var flumeName = regexp.MustCompile(`^FlumeData\.\d{13}$`)

// readAll lists a directory's files in name (counter) order, each as its
// records read by Hadoop's -text, keys dropped.
func readAll(t *testing.T, dir string) []string {
	t.Helper()
	fs := files(t, dir)
	sort.Slice(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
	var out []string
	for _, e := range fs {
		if !flumeName.MatchString(path.Base(e.Path)) {
			t.Errorf("file %s is not named FlumeData.<millis counter>", e.Path)
		}
		var recs []string
		for _, l := range strings.Split(strings.TrimSuffix(text(t, e.Path), "\n"), "\n") {
			if _, v, ok := strings.Cut(l, "\t"); ok {
				l = v
			}
			recs = append(recs, l)
		}
		out = append(out, strings.Join(recs, ","))
	}
	return out
}
