package interop

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// sendNumbered writes n lines "<prefix>-<i>" to a netcat source and
// returns, per line, whether the source answered OK. acked counts the OKs
// as they come, for whoever watches the progress.
func sendNumbered(addr, prefix string, n int, acked *atomic.Int64) ([]bool, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ok := make([]bool, n)
	werr := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(c, 8192)
		for i := 0; i < n; i++ {
			if _, err := fmt.Fprintf(w, "%s-%08d\n", prefix, i); err != nil {
				werr <- err
				return
			}
			if i%100 == 99 {
				if err := w.Flush(); err != nil {
					werr <- err
					return
				}
			}
		}
		werr <- w.Flush()
	}()
	r := bufio.NewReader(c)
	for i := 0; i < n; i++ {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		l, err := r.ReadString('\n')
		if err != nil {
			return ok, fmt.Errorf("%s: reply %d: %w", addr, i, err)
		}
		if strings.TrimSpace(l) == "OK" {
			ok[i] = true
			acked.Add(1)
		}
	}
	return ok, <-werr
}

var fanInLine = regexp.MustCompile(`^(leaf[123])-(\d{8})$`)

// fanInOutput reads every line file_roll wrote under dir: how many times
// each "<leaf>-<n>" line appears, and how many lines are something else
// (the torn last line of a file the killed collector was writing).
func fanInOutput(t *testing.T, dir string) (seen map[string]int, torn int) {
	t.Helper()
	seen = map[string]int{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return seen, 0
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			switch {
			case fanInLine.MatchString(l):
				seen[l]++
			case l != "":
				torn++
			}
		}
	}
	return seen, torn
}

// TestFanInExample runs examples/fan-in.conf as it is but for its ports
// (fixed ones may be taken on a busy machine; peers.FreePort's are not):
// the collector (a1: avro source → file channel → file_roll) and three
// leaves (netcat → memory → avro sink), four processes of the sluice binary
// in one working directory. Every leaf gets numbered lines at the same time; the collector
// is killed with SIGKILL mid-stream and started again. In the end every
// line a leaf acknowledged must be in the collector's output, at least once.
func TestFanInExample(t *testing.T) {
	const perLeaf = 30_000
	dir := t.TempDir()
	example, err := os.ReadFile(filepath.Join(repoRoot(), "examples", "fan-in.conf"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(example)
	var addrs []string
	for _, fixed := range []string{"44460", "44461", "44462", "44463"} {
		if !strings.Contains(text, "port = "+fixed) {
			t.Fatalf("examples/fan-in.conf no longer has port %s; update this test", fixed)
		}
		port := peers.FreePort(t)
		text = strings.ReplaceAll(text, fixed, strconv.Itoa(port))
		addrs = append(addrs, addr(port))
	}
	conf := writeFile(t, filepath.Join(dir, "fan-in.conf"), []byte(text))
	leaves := []struct {
		name, addr string
		p          *proc
	}{{name: "leaf1", addr: addrs[1]}, {name: "leaf2", addr: addrs[2]}, {name: "leaf3", addr: addrs[3]}}
	out := filepath.Join(dir, "out", "fan-in")

	collector := startAgent(t, dir, "a1", conf)
	for i := range leaves {
		leaves[i].p = startAgent(t, dir, leaves[i].name, conf)
	}
	waitPorts(t, addrs...)

	start := time.Now()
	var acked atomic.Int64
	results := make([][]bool, len(leaves))
	errs := make([]error, len(leaves))
	var wg sync.WaitGroup
	for i, l := range leaves {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = sendNumbered(l.addr, l.name, perLeaf, &acked)
		}()
	}
	sendersDone := make(chan struct{})
	go func() { wg.Wait(); close(sendersDone) }()

	// Kill the collector once a fifth of the events were acknowledged by
	// the leaves and some reached the output: mid-stream.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		seen, _ := fanInOutput(t, out)
		if acked.Load() >= 3*perLeaf/5 && len(seen) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress before the kill: %d acknowledged, %d in the output", acked.Load(), len(seen))
		}
		time.Sleep(20 * time.Millisecond)
	}
	ackedAtKill := acked.Load()
	seenAtKill, _ := fanInOutput(t, out)
	const failed = "delivery failed"
	failedBefore := make([]int, len(leaves))
	for i, l := range leaves {
		failedBefore[i] = strings.Count(l.p.out.String(), failed)
	}
	var sendersDoneAtKill bool
	select {
	case <-sendersDone:
		sendersDoneAtKill = true
	default:
	}
	collector.kill()
	t.Logf("collector killed (SIGKILL) with %d events acknowledged by the leaves, %d in its output", ackedAtKill, len(seenAtKill))
	// Start it again once a leaf's sink met the dead collector, when a leaf
	// still had events to send (on a slow machine the senders may all be
	// done by the kill, and the leaves then have nothing left to deliver).
	metDeadCollector := func() bool {
		for i, l := range leaves {
			if strings.Count(l.p.out.String(), failed) > failedBefore[i] {
				t.Logf("%s's sink met the dead collector", l.name)
				return true
			}
		}
		return false
	}
	deadline = time.Now().Add(time.Minute)
	for !sendersDoneAtKill && !metDeadCollector() {
		if time.Now().After(deadline) {
			t.Fatalf("no leaf logged %q within a minute of the collector's kill", failed)
		}
		time.Sleep(20 * time.Millisecond)
	}
	startAgent(t, dir, "a1", conf)

	<-sendersDone
	var want []string
	for i, l := range leaves {
		if errs[i] != nil {
			t.Fatalf("%s: %v", l.name, errs[i])
		}
		for n, ok := range results[i] {
			if ok {
				want = append(want, fmt.Sprintf("%s-%08d", l.name, n))
			}
		}
	}
	if len(want) == 0 {
		t.Fatal("no line was acknowledged")
	}
	t.Logf("leaves acknowledged %d of %d lines (%d before the kill)", len(want), len(leaves)*perLeaf, ackedAtKill)

	// Wait until every acknowledged line is out; fail on a stall.
	var seen map[string]int
	var torn int
	lastMissing, moved := -1, time.Now()
	for {
		seen, torn = fanInOutput(t, out)
		missing := 0
		for _, w := range want {
			if seen[w] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if missing != lastMissing {
			lastMissing, moved = missing, time.Now()
		}
		if time.Since(moved) > time.Minute {
			var some []string
			for _, w := range want {
				if seen[w] == 0 && len(some) < 10 {
					some = append(some, w)
				}
			}
			t.Fatalf("%d acknowledged lines never reached the output, e.g. %v", missing, some)
		}
		time.Sleep(200 * time.Millisecond)
	}
	took := time.Since(start)

	wantSet := make(map[string]bool, len(want))
	for _, w := range want {
		wantSet[w] = true
	}
	dups, unacked := 0, 0
	for l, n := range seen {
		dups += n - 1
		if !wantSet[l] {
			unacked++ // delivered without an OK (e.g. a reply lost): allowed
		}
	}
	for l := range seen {
		n, _ := strconv.Atoi(l[6:])
		if n >= perLeaf {
			t.Errorf("output line %q was never sent", l)
		}
	}
	t.Logf("all %d acknowledged lines delivered in %v: %d duplicates, %d torn lines, %d delivered lines not acknowledged",
		len(want), took.Round(time.Millisecond), dups, torn, unacked)
}
