package e2e

import (
	"bufio"
	"fmt"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fileChannelConf is netcat → file channel → file_roll, with small
// segments and frequent checkpoints so that kills land in rolls,
// checkpoints and segment deletions too.
func fileChannelConf(dir string, port int) string {
	return fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = %d
a1.sources.r1.channels = c1
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = %s
a1.channels.c1.dataDirs = %s,%s
a1.channels.c1.useDualCheckpoints = true
a1.channels.c1.backupCheckpointDir = %s
a1.channels.c1.checkpointInterval = 300
a1.channels.c1.maxFileSize = 65536
a1.channels.c1.minimumRequiredSpace = 1048576
a1.channels.c1.capacity = 200000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = %s
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 100
`, port, filepath.Join(dir, "checkpoint"), filepath.Join(dir, "data1"), filepath.Join(dir, "data2"),
		filepath.Join(dir, "backup"), filepath.Join(dir, "out"))
}

var evLine = regexp.MustCompile(`^ev-(\d{8})$`)

// sendUntilKilled writes numbered lines from next on until the connection
// dies or limit lines were sent, and returns the numbers acknowledged OK.
func sendUntilKilled(addr string, next, limit int) (acked []int, sent int, failed int) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, 0, 0
	}
	defer c.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	var mu sync.Mutex
	go func() {
		defer wg.Done()
		w := bufio.NewWriterSize(c, 4096)
		for i := 0; i < limit; i++ {
			if _, err := fmt.Fprintf(w, "ev-%08d\n", next+i); err != nil {
				return
			}
			mu.Lock()
			sent = i + 1
			mu.Unlock()
			if i%50 == 49 {
				if w.Flush() != nil {
					return
				}
			}
		}
		_ = w.Flush()
	}()
	r := bufio.NewReader(c)
	for i := 0; ; i++ {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		l, err := r.ReadString('\n')
		if err != nil {
			break
		}
		if strings.TrimSpace(l) == "OK" {
			acked = append(acked, next+i)
		} else {
			failed++
		}
		if i+1 == limit {
			break
		}
	}
	c.Close()
	wg.Wait()
	return acked, sent, failed
}

// TestFileChannelSurvivesKill9 kills the agent with SIGKILL at random
// moments while a client streams numbered events, restarts it each time,
// and finally checks that every event the agent acknowledged reached the
// sink: none lost, duplicates counted.
func TestFileChannelSurvivesKill9(t *testing.T) {
	const kills = 24
	dir := t.TempDir()
	port := freePort(t)
	conf := writeConf(t, dir, fileChannelConf(dir, port))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)

	t0 := time.Now()
	var acked []int
	next, totalFailed := 0, 0
	for k := 0; k < kills; k++ {
		p := run(t, dir, "agent", "-n", "a1", "-f", conf)
		var ack []int
		var sent, failed int
		if k%6 == 5 {
			// Sometimes the kill comes during start-up and recovery.
			time.Sleep(time.Duration(rng.Intn(150)) * time.Millisecond)
		} else {
			p.waitLog("agent started", 30*time.Second)
			done := make(chan struct{})
			go func() {
				defer close(done)
				ack, sent, failed = sendUntilKilled(addr, next, 4000)
			}()
			time.Sleep(time.Duration(20+rng.Intn(400)) * time.Millisecond)
			_ = p.cmd.Process.Kill()
			<-done

		}
		_ = p.cmd.Process.Kill()
		_ = p.wait(20 * time.Second)
		acked = append(acked, ack...)
		totalFailed += failed
		next += sent + 1 // never reuse a number, even one only half-sent
	}

	// One last run drains the channel into the sink.
	p := startAgent(t, dir, conf)
	out := filepath.Join(dir, "out")
	want := map[int]bool{}
	for _, n := range acked {
		want[n] = true
	}
	var seen map[int]int
	deadline := time.Now().Add(90 * time.Second)
	for {
		seen = map[int]int{}
		for _, l := range readDirLines(t, out) {
			if m := evLine.FindStringSubmatch(l); m != nil {
				n, _ := strconv.Atoi(m[1])
				seen[n]++
			}
		}
		missing := 0
		for n := range want {
			if seen[n] == 0 {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := p.stop(); err != nil {
		t.Errorf("final agent exited with %v", err)
	}
	lost, dups := 0, 0
	var lostSample []int
	for n := range want {
		if seen[n] == 0 {
			lost++
			if len(lostSample) < 10 {
				lostSample = append(lostSample, n)
			}
		}
	}
	for _, c := range seen {
		if c > 1 {
			dups += c - 1
		}
	}
	unacked := 0
	for n := range seen {
		if !want[n] {
			unacked++ // sent, stored, but the kill came before the OK
		}
	}
	t.Logf("took %v; kills %d, events acknowledged %d, refused %d, delivered distinct %d (of which %d never acknowledged), lost = %d, duplicates = %d",
		time.Since(t0).Round(time.Millisecond), kills, len(acked), totalFailed, len(seen), unacked, lost, dups)
	if len(acked) == 0 {
		t.Fatal("no event was acknowledged: the test did not exercise the channel")
	}
	if lost > 0 {
		segs, _ := filepath.Glob(filepath.Join(dir, "data*", "*"))
		t.Fatalf("lost %d acknowledged events, e.g. %v (segments left: %v)", lost, lostSample, segs)
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoint", "checkpoint")); err != nil {
		t.Errorf("no checkpoint written: %v", err)
	}
}
