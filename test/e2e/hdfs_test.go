package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// The classic flow, examples/spooldir-hdfs.conf, run by the real binary
// against a real HDFS; netcat -> memory -> hdfs bucketed by time and
// header; then a kill -9 of the agent mid-stream and a restart: every line
// reaches HDFS and no file stays in use. One HDFS serves all three.
func TestHDFSSpoolDirExampleAndKill9(t *testing.T) {
	h := peers.StartHDFS(t, peers.HDFSOptions{Fast: true})
	example := func(t *testing.T, dir, hdfsDir string) string {
		b, err := os.ReadFile(filepath.Join(repoRoot(), "examples", "spooldir-hdfs.conf"))
		if err != nil {
			t.Fatal(err)
		}
		conf := strings.ReplaceAll(string(b), "hdfs://127.0.0.1:8020/flume/spool", h.URL()+hdfsDir)
		if conf == string(b) {
			t.Fatal("the example's hdfs.path changed; update this test")
		}
		if err := os.MkdirAll(filepath.Join(dir, "spool"), 0o755); err != nil {
			t.Fatal(err)
		}
		return writeConf(t, dir, conf)
	}
	// spool moves a file of n numbered lines into the spool directory.
	spool := func(t *testing.T, dir, name string, n int) {
		staged := filepath.Join(dir, name+".stage")
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "%s %07d\n", name, i)
		}
		if err := os.WriteFile(staged, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-time.Hour)
		_ = os.Chtimes(staged, old, old)
		if err := os.Rename(staged, filepath.Join(dir, "spool", name)); err != nil {
			t.Fatal(err)
		}
	}
	// lines reads every file under hdfsDir with Hadoop's -cat.
	lines := func(t *testing.T, hdfsDir string) (all []string, inUse []string) {
		es, err := h.Ls(hdfsDir, true)
		if err != nil {
			return nil, nil
		}
		for _, e := range es {
			if e.Dir {
				continue
			}
			if strings.HasSuffix(e.Path, ".tmp") {
				inUse = append(inUse, e.Path)
			}
			b, err := h.Cat(e.Path)
			if err != nil {
				t.Logf("cat %s: %v", e.Path, err)
				continue
			}
			if s := strings.TrimSuffix(string(b), "\n"); s != "" {
				all = append(all, strings.Split(s, "\n")...)
			}
		}
		return all, inUse
	}
	check := func(t *testing.T, got []string, name string, n int) (dups int) {
		seen := map[string]int{}
		for _, l := range got {
			seen[l]++
		}
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("%s %07d", name, i)
			switch c := seen[k]; {
			case c == 0:
				t.Fatalf("line %q never reached HDFS (%d lines read)", k, len(got))
			case c > 1:
				dups += c - 1
			}
		}
		if len(seen) != n {
			t.Fatalf("%d distinct lines in HDFS, want %d", len(seen), n)
		}
		return dups
	}
	waitLines := func(t *testing.T, hdfsDir string, n int) {
		deadline := time.Now().Add(3 * time.Minute)
		for {
			got, _ := lines(t, hdfsDir)
			if len(got) >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d lines in HDFS after 3 minutes", len(got), n)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}

	t.Run("example", func(t *testing.T) {
		dir, hdfsDir := t.TempDir(), "/example"
		p := startAgent(t, dir, example(t, dir, hdfsDir))
		const n = 20000
		spool(t, dir, "a.log", n)
		waitLines(t, hdfsDir, n)
		if err := p.stop(); err != nil {
			t.Fatalf("agent exit after SIGTERM: %v", err)
		}
		got, inUse := lines(t, hdfsDir)
		if len(inUse) > 0 {
			t.Errorf("in-use files after a clean stop: %v", inUse)
		}
		if d := check(t, got, "a.log", n); d != 0 {
			t.Errorf("%d lines written twice without any failure", d)
		}
		es, _ := h.Ls(hdfsDir, true)
		for _, e := range es {
			if !e.Dir && (!strings.Contains(e.Path, "/events.") || !strings.HasSuffix(e.Path, ".log")) {
				t.Errorf("file %s is not named events.<n>.log", e.Path)
			}
		}
	})

	// netcat -> memory -> hdfs: the timestamp interceptor stamps events,
	// regex_extractor puts a header from the body, and the sink buckets by
	// day (UTC) and by that header.
	t.Run("netcat-buckets", func(t *testing.T) {
		dir, hdfsDir := t.TempDir(), "/netcat"
		port := freePort(t)
		conf := writeConf(t, dir, fmt.Sprintf(`
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = %d
a1.sources.r1.channels = c1
a1.sources.r1.interceptors = ts rx
a1.sources.r1.interceptors.ts.type = timestamp
a1.sources.r1.interceptors.rx.type = regex_extractor
a1.sources.r1.interceptors.rx.regex = ^(\\w+)
a1.sources.r1.interceptors.rx.serializers = s1
a1.sources.r1.interceptors.rx.serializers.s1.name = kind
a1.channels.c1.type = memory
a1.sinks.k1.type = hdfs
a1.sinks.k1.channel = c1
a1.sinks.k1.hdfs.path = %s%s/%%Y-%%m-%%d/%%{kind}
a1.sinks.k1.hdfs.filePrefix = %%{kind}-%%H
a1.sinks.k1.hdfs.timeZone = UTC
a1.sinks.k1.hdfs.fileType = DataStream
a1.sinks.k1.hdfs.rollCount = 0
a1.sinks.k1.hdfs.rollSize = 0
`, port, h.URL(), hdfsDir))
		p := startAgent(t, dir, conf)
		before := time.Now().UTC()
		var sent []string
		for i := 0; i < 300; i++ {
			sent = append(sent, fmt.Sprintf("%s %d", []string{"alpha", "beta", "gamma"}[i%3], i))
		}
		replies := sendLines(t, fmt.Sprintf("127.0.0.1:%d", port), sent)
		wantAllOK(t, replies, len(sent))
		waitLines(t, hdfsDir, len(sent))
		if err := p.stop(); err != nil {
			t.Fatalf("agent exit after SIGTERM: %v", err)
		}
		after := time.Now().UTC()
		es, err := h.Ls(hdfsDir, true)
		if err != nil {
			t.Fatal(err)
		}
		byKind := map[string][]string{}
		for _, e := range es {
			if e.Dir {
				continue
			}
			rel := strings.TrimPrefix(strings.TrimPrefix(e.Path, h.URL()), hdfsDir+"/")
			parts := strings.Split(rel, "/") // day/kind/kind-HH.<n>
			if len(parts) != 3 {
				t.Fatalf("file %s is not under day/kind/", e.Path)
			}
			day, kind, name := parts[0], parts[1], parts[2]
			if day != before.Format("2006-01-02") && day != after.Format("2006-01-02") {
				t.Errorf("file %s: day %s is not today (UTC)", e.Path, day)
			}
			if !strings.HasPrefix(name, kind+"-") || strings.HasSuffix(name, ".tmp") {
				t.Errorf("file %s is not named %s-<hour>.<n>", e.Path, kind)
			}
			b, err := h.Cat(e.Path)
			if err != nil {
				t.Fatal(err)
			}
			byKind[kind] = append(byKind[kind], strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
		}
		for k, kind := range []string{"alpha", "beta", "gamma"} {
			var want []string
			for i := k; i < len(sent); i += 3 {
				want = append(want, sent[i])
			}
			if strings.Join(byKind[kind], "|") != strings.Join(want, "|") {
				t.Errorf("bucket %s: got %d lines, want %d", kind, len(byKind[kind]), len(want))
			}
		}
	})

	t.Run("kill9", func(t *testing.T) {
		dir, hdfsDir := t.TempDir(), "/kill9"
		conf := example(t, dir, hdfsDir)
		p := startAgent(t, dir, conf)
		const n = 200000
		spool(t, dir, "b.log", n)
		// Kill once some, not all, lines are in HDFS.
		deadline := time.Now().Add(3 * time.Minute)
		for {
			got, _ := lines(t, hdfsDir)
			if len(got) > 0 && len(got) < n {
				break
			}
			if len(got) >= n {
				t.Fatal("every line was through before the kill; make the file bigger")
			}
			if time.Now().After(deadline) {
				t.Fatal("no line reached HDFS within 3 minutes")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.wait(20 * time.Second)
		_, left := lines(t, hdfsDir)
		if len(left) == 0 {
			t.Fatal("the kill left no in-use file; the test proves nothing")
		}
		sort.Strings(left)
		p2 := startAgent(t, dir, conf)
		waitLines(t, hdfsDir, n)
		// The in-use files of the killed agent are recovered and renamed.
		deadline = time.Now().Add(3 * time.Minute)
		for {
			_, inUse := lines(t, hdfsDir)
			stuck := 0
			for _, l := range left {
				if sort.SearchStrings(inUse, l) < len(inUse) && inUse[sort.SearchStrings(inUse, l)] == l {
					stuck++
				}
			}
			if stuck == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("files of the killed agent still in use after 3 minutes: %v", left)
			}
			time.Sleep(500 * time.Millisecond)
		}
		if err := p2.stop(); err != nil {
			t.Fatalf("agent exit after SIGTERM: %v", err)
		}
		got, inUse := lines(t, hdfsDir)
		if len(inUse) > 0 {
			t.Errorf("in-use files after the restart and a clean stop: %v", inUse)
		}
		dups := check(t, got, "b.log", n)
		t.Logf("kill -9 mid-stream: all %d lines in HDFS, %d written twice (the batch in flight, at-least-once)", n, dups)
	})
}
