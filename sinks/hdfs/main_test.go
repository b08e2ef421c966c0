package hdfs

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/sinkloop"
	"github.com/sluiceio/sluice/sluicetest"
	"github.com/sluiceio/sluice/test/peers"
)

// cluster is the package's one HDFS (NameNode + DataNode in one JVM),
// started by TestMain unless -short.
var cluster *peers.HDFS

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	h, err := peers.StartHDFSProcess(context.Background(), peers.HDFSOptions{Fast: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sinks/hdfs: starting HDFS:", err)
		os.Exit(1)
	}
	cluster = h
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "sinks/hdfs: HDFS log tail:\n%s\n", h.LogTail())
	}
	_ = h.Stop()
	os.Exit(code)
}

func needHDFS(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Java and HDFS; skipped under -short")
	}
}

var dirSeq atomic.Int64

// testDir is an HDFS directory of this test's own.
func testDir(t *testing.T) string {
	return fmt.Sprintf("/t/%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), dirSeq.Add(1))
}

type fixture struct {
	t    *testing.T
	s    *Sink
	loop *sinkloop.Loop
	ch   *sluicetest.Channel
	env  sluice.Env
}

// newSink builds the sink from properties as the loader does (hdfs.path
// relative to the cluster's URL when it starts with '/'), starts it and
// stops it when the test ends.
func newSink(t *testing.T, kv ...string) *fixture {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "hdfs.path" && strings.HasPrefix(kv[i+1], "/") {
			kv[i+1] = cluster.URL() + kv[i+1]
		}
	}
	cfg, err := decodeT(t, kv...)
	if err != nil {
		t.Fatal(err)
	}
	env := sluicetest.Env("k1")
	ch := sluicetest.NewChannel()
	env.Channel = ch
	s, err := New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, s: s, ch: ch, env: env, loop: sluicetest.SinkLoop(env, s)}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return f
}

// drain runs transactions until the channel is empty; an error fails the test.
func (f *fixture) drain() {
	f.t.Helper()
	for f.ch.Len() > 0 {
		if _, err := f.loop.Process(context.Background()); err != nil {
			f.t.Fatalf("process: %v", err)
		}
	}
}

func (f *fixture) stop() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.s.Stop(ctx); err != nil {
		f.t.Fatalf("stop: %v", err)
	}
}

func ev(body string, headers ...string) *sluice.Event {
	h := map[string]string{}
	for i := 0; i+1 < len(headers); i += 2 {
		h[headers[i]] = headers[i+1]
	}
	return &sluice.Event{Headers: h, Body: []byte(body)}
}

// files lists the files under dir (recursively), by Hadoop's own -ls.
func files(t *testing.T, dir string) []peers.HDFSEntry {
	t.Helper()
	es, err := cluster.Ls(dir, true)
	if err != nil {
		t.Fatalf("ls %s: %v", dir, err)
	}
	var out []peers.HDFSEntry
	for _, e := range es {
		if !e.Dir {
			e.Path = strings.TrimPrefix(e.Path, cluster.URL())
			out = append(out, e)
		}
	}
	return out
}

func text(t *testing.T, p string) string {
	t.Helper()
	b, err := cluster.Text(p)
	if err != nil {
		t.Fatalf("hadoop fs -text %s: %v", p, err)
	}
	return string(b)
}

func cat(t *testing.T, p string) string {
	t.Helper()
	b, err := cluster.Cat(p)
	if err != nil {
		t.Fatalf("hadoop fs -cat %s: %v", p, err)
	}
	return string(b)
}

var _ = conf.Prop{}
