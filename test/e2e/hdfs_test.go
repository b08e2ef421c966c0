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
// against a real HDFS; then a kill -9 of the agent mid-stream and a
// restart: every line reaches HDFS and no file stays in use. One HDFS
// serves both parts.
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
