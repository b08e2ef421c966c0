package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// File-channel workloads: a source → file channel → null sink, so the
// figure is the channel's (its fsyncs) and not a sink's. The source is
// stress (one batch in flight, so each commit pays a whole fsync) or
// several stress sources / netcat connections (commits in flight at once
// share fsyncs: group commit).
//
// Avro is the source Flume deployments usually put in front of a file
// channel: AvroFileNull.

// fileChannelProps are the channel's properties for a run in dir.
func fileChannelProps(dir string) string { return fileChannelPropsCap(dir, 1000000) }

func fileChannelPropsCap(dir string, capacity int) string {
	return fmt.Sprintf("a1.channels.c1.type = file\n"+
		"a1.channels.c1.checkpointDir = %s\n"+
		"a1.channels.c1.dataDirs = %s\n"+
		"a1.channels.c1.capacity = %d\n"+
		"a1.channels.c1.transactionCapacity = 10000\n",
		filepath.Join(dir, "checkpoint"), filepath.Join(dir, "data"), capacity)
}

// StressFileNull renders `sources` stress sources → file → null with the
// given batch size (source and sink) and body size.
func StressFileNull(sources, batch, size int) Workload {
	name := fmt.Sprintf("stress → file → null, batch %d, %d-byte bodies", batch, size)
	if sources > 1 {
		name = fmt.Sprintf("%d× stress → file → null, batch %d, %d-byte bodies", sources, batch, size)
	}
	return Workload{
		Name: name,
		Conf: func(p Ports) string {
			var b strings.Builder
			var names []string
			for i := 1; i <= sources; i++ {
				names = append(names, fmt.Sprintf("r%d", i))
			}
			fmt.Fprintf(&b, "a1.sources = %s\na1.channels = c1\na1.sinks = k1\n", strings.Join(names, " "))
			per := p.Events / sources
			for i, n := range names {
				total := per
				if i == sources-1 {
					total = p.Events - per*(sources-1)
				}
				fmt.Fprintf(&b, "a1.sources.%[1]s.type = org.apache.flume.source.StressSource\n"+
					"a1.sources.%[1]s.size = %[2]d\na1.sources.%[1]s.batchSize = %[3]d\n"+
					"a1.sources.%[1]s.maxTotalEvents = %[4]d\na1.sources.%[1]s.channels = c1\n", n, size, batch, total)
			}
			b.WriteString(fileChannelProps(p.Dir))
			fmt.Fprintf(&b, "a1.sinks.k1.type = null\na1.sinks.k1.batchSize = %d\na1.sinks.k1.channel = c1\n", batch)
			return b.String()
		},
		BodySize: size,
		SinkKey:  "CHANNEL.c1", // Flume's null sink keeps no counters: count committed takes
	}
}

// NetcatFileNull is netcat (conns connections, each acked per line after
// the commit) → file → null.
func NetcatFileNull(conns, size int) Workload {
	return Workload{
		Name: fmt.Sprintf("netcat ×%d → file → null, %d-byte lines", conns, size),
		Conf: func(p Ports) string {
			return fmt.Sprintf("a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"+
				"a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = %d\n"+
				"a1.sources.r1.channels = c1\n", p.Source) +
				fileChannelProps(p.Dir) +
				"a1.sinks.k1.type = null\na1.sinks.k1.batchSize = 100\na1.sinks.k1.channel = c1\n"
		},
		Load:     NetcatLoad(conns),
		BodySize: size,
		SinkKey:  "CHANNEL.c1", // Flume's null sink keeps no counters: count committed takes
	}
}

// AvroFileNull is avro (4 connections, appendBatch of batch events) →
// file → null.
func AvroFileNull(batch, size int) Workload {
	return Workload{
		Name: fmt.Sprintf("avro ×4 (batch %d) → file → null, %d-byte bodies", batch, size),
		Conf: func(p Ports) string {
			return fmt.Sprintf("a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"+
				"a1.sources.r1.type = avro\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = %d\n"+
				"a1.sources.r1.channels = c1\n", p.Source) +
				fileChannelProps(p.Dir) +
				fmt.Sprintf("a1.sinks.k1.type = null\na1.sinks.k1.batchSize = %d\na1.sinks.k1.channel = c1\n", batch)
		},
		Load:     AvroLoad(4, batch),
		BodySize: size,
		SinkKey:  "CHANNEL.c1",
	}
}

// FileCase is a file-channel workload with the commit size its fsync
// baseline is measured at.
type FileCase struct {
	Workload Workload
	Batch    int // events per commit
}

// FileChannelCases are the file-channel configurations benchmarked.
func FileChannelCases() []FileCase {
	return []FileCase{
		{StressFileNull(1, 100, 100), 100},
		{StressFileNull(1, 1000, 100), 1000},
		{StressFileNull(1, 100, 1024), 100},
		{StressFileNull(1, 1000, 1024), 1000},
		{StressFileNull(4, 100, 100), 100},
		{NetcatFileNull(4, 100), 100}, // a commit holds what one read brought, up to 1000 lines
		{AvroFileNull(100, 100), 100},
		{AvroFileNull(1000, 100), 1000},
	}
}

// FileChannelWorkloads are FileChannelCases' workloads, for Workloads().
func FileChannelWorkloads() []Workload {
	var out []Workload
	for _, c := range FileChannelCases() {
		out = append(out, c.Workload)
	}
	return out
}

// RecordOverhead is what the file channel's log adds to each event of a
// header-less body (record header, length prefixes), for sizing the
// baseline's writes like the channel's.
const RecordOverhead = 11

// FsyncResult is the machine's fsync'd sequential write rate at one write size.
type FsyncResult struct {
	WriteBytes int
	WritesPerS float64
	MBPerS     float64
}

// FsyncBaseline appends writeBytes at a time to a new file in dir, fsyncing
// after every write, for about d: the physical limit of a log that fsyncs
// every commit of that size. With prealloc the file is first filled with
// zeros and overwritten, as the file channel's segments are.
func FsyncBaseline(dir string, writeBytes int, d time.Duration, prealloc bool) (FsyncResult, error) {
	f, err := os.CreateTemp(dir, "fsync-baseline")
	if err != nil {
		return FsyncResult{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	const fill = 256 << 20
	if prealloc {
		zero := make([]byte, 1<<20)
		for n := 0; n < fill; n += len(zero) {
			if _, err := f.Write(zero); err != nil {
				return FsyncResult{}, err
			}
		}
		if err := f.Sync(); err != nil {
			return FsyncResult{}, err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return FsyncResult{}, err
		}
	}
	buf := make([]byte, writeBytes)
	for i := range buf {
		buf[i] = byte('a' + i%26)
	}
	start := time.Now()
	writes, off := 0, 0
	for time.Since(start) < d {
		if prealloc && off+writeBytes > fill {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return FsyncResult{}, err
			}
			off = 0
		}
		if _, err := f.Write(buf); err != nil {
			return FsyncResult{}, err
		}
		if err := f.Sync(); err != nil {
			return FsyncResult{}, err
		}
		writes++
		off += writeBytes
	}
	el := time.Since(start).Seconds()
	return FsyncResult{WriteBytes: writeBytes, WritesPerS: float64(writes) / el, MBPerS: float64(writes*writeBytes) / el / 1e6}, nil
}

// ReplayResult is one measured recovery.
type ReplayResult struct {
	Events int
	// Recovery is the channel's own figure: locking, checkpoint load, log
	// replay, and the checkpoint it writes afterwards.
	Recovery time.Duration
	// Startup is process start to "agent started".
	Startup  time.Duration
	From     string // what recovery started from
	Replayed string // log bytes replayed
}

var startedLine = regexp.MustCompile(`msg="file channel started".* events=(\d+) .*replayed_bytes=(\d+) checkpoint=("[^"]*"|\S+) took=(\S+)`)

// FileChannelReplay fills a file channel with events through the real
// binary (stress source, no sink), kills it with SIGKILL, and times the
// restart. With checkpointed, the kill comes after a checkpoint covered
// every event; otherwise before any, so the whole log is replayed.
func (r *Runner) FileChannelReplay(ctx context.Context, events, bodySize int, checkpointed bool) (ReplayResult, error) {
	dir, err := os.MkdirTemp("", "sluice-replay")
	if err != nil {
		return ReplayResult{}, err
	}
	defer os.RemoveAll(dir)
	interval := 3600000
	if checkpointed {
		interval = 500
	}
	channel := fileChannelPropsCap(dir, max(events, 1000000)) + fmt.Sprintf("a1.channels.c1.checkpointInterval = %d\n", interval)
	fill := fmt.Sprintf("a1.sources = r1\na1.channels = c1\n"+
		"a1.sources.r1.type = org.apache.flume.source.StressSource\na1.sources.r1.size = %d\n"+
		"a1.sources.r1.batchSize = 1000\na1.sources.r1.maxTotalEvents = %d\na1.sources.r1.channels = c1\n", bodySize, events) + channel
	bin := r.Binary
	if st, ok := r.Target.(SluiceTarget); ok {
		bin = st.Binary
	}

	mon := freePort()
	cmd, out, err := startAgent(dir, "fill.conf", fill, bin, mon)
	if err != nil {
		return ReplayResult{}, err
	}
	filling := make(chan struct{})
	go func() { _ = cmd.Wait(); close(filling) }()
	defer func() { killGroup(cmd); <-filling }()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		m, err := fetchMetrics(mon)
		if err == nil && m["CHANNEL.c1"]["ChannelSize"] == strconv.Itoa(events) {
			break
		}
		if time.Now().After(deadline) {
			return ReplayResult{}, fmt.Errorf("channel never reached %d events:\n%s", events, out)
		}
		select {
		case <-ctx.Done():
			return ReplayResult{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	if checkpointed {
		filled := time.Now()
		ck := filepath.Join(dir, "checkpoint", "checkpoint")
		for {
			if st, err := os.Stat(ck); err == nil && st.ModTime().After(filled) {
				break
			}
			if time.Now().After(deadline) {
				return ReplayResult{}, errors.New("no checkpoint was written after the fill")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	killGroup(cmd)
	<-filling

	begin := time.Now()
	// An idle netcat source keeps the agent valid without adding events.
	idle := fmt.Sprintf("a1.sources = r1\na1.channels = c1\na1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n"+
		"a1.sources.r1.port = %d\na1.sources.r1.channels = c1\n", freePort())
	cmd2, out2, err := startAgent(dir, "replay.conf", idle+channel, bin, freePort())
	if err != nil {
		return ReplayResult{}, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd2.Wait(); close(exited) }()
	defer func() { killGroup(cmd2); <-exited }()
	for !strings.Contains(out2.String(), "agent started") {
		select {
		case <-exited:
			return ReplayResult{}, fmt.Errorf("restart failed:\n%s", out2)
		default:
		}
		if time.Now().After(begin.Add(5 * time.Minute)) {
			return ReplayResult{}, fmt.Errorf("restart never finished:\n%s", out2)
		}
		time.Sleep(time.Millisecond)
	}
	res := ReplayResult{Startup: time.Since(begin)}
	m := startedLine.FindStringSubmatch(out2.String())
	if m == nil {
		return res, fmt.Errorf("no recovery line in the agent's log:\n%s", out2)
	}
	res.Events, _ = strconv.Atoi(m[1])
	res.Replayed = m[2]
	res.From = strings.Trim(m[3], `"`)
	res.Recovery, _ = time.ParseDuration(m[4])
	if res.Events != events {
		return res, fmt.Errorf("recovered %d events, want %d", res.Events, events)
	}
	return res, nil
}

// startAgent starts the binary on conf (written to dir/name) at INFO level
// in its own process group; its output is collected.
func startAgent(dir, name, conf, bin string, mon int) (*exec.Cmd, *syncBuf, error) {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, "agent", "-n", "a1", "-f", path,
		"-Dflume.monitoring.type=http", "-Dflume.monitoring.port="+strconv.Itoa(mon), "-Dflume.root.logger=INFO,console")
	cmd.Dir = dir
	out := &syncBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	return cmd, out, nil
}

// killGroup sends SIGKILL to the agent's process group.
func killGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

// syncBuf collects a process's output across goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
