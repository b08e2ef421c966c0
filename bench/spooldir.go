package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// SpoolDir is the spooldir → memory → null workload: one file of 10
// million 100-byte lines (1 GB with their newlines), generated before the
// agent starts and moved into the spool directory with the load.
//
// Beside the agent's figure it prints the machine's own sequential read
// rate of the same file, measured in the same run. When the page cache can
// be dropped (root), both are measured from a cold cache; otherwise both
// read a file the cache may hold, and the line says so.
func SpoolDir() Workload {
	var coldRates, warmRates []float64 // the machine's read rates, measured before each run
	return Workload{
		Name: "spooldir → memory → null, 100-byte lines",
		Conf: func(p Ports) string {
			spool := filepath.Join(p.Dir, "spool")
			stage := filepath.Join(p.Dir, "data.stage")
			if err := os.MkdirAll(spool, 0o755); err != nil {
				return "# cannot create the spool directory: " + err.Error()
			}
			if err := writeLines(stage, p.Events, 100); err != nil {
				return "# cannot write the spool file: " + err.Error()
			}
			// Small runs (the harness's own test) leave the cache alone.
			big := int64(p.Events)*101 >= 64<<20
			cold := big && dropCaches() == nil
			rate, err := readRate(stage)
			if err != nil {
				return "# cannot read the spool file: " + err.Error()
			}
			if cold {
				cold = dropCaches() == nil
			}
			state := "cold cache (dropped with /proc/sys/vm/drop_caches)"
			switch {
			case !big:
				state = "warm cache (small run)"
			case !cold:
				state = "warm cache: the page cache could not be dropped"
			}
			fmt.Printf("spooldir: sequential read of the %.0f MB spool file by this machine: %.0f MB/s, %s\n",
				float64(p.Events)*101/1e6, rate, state)
			if cold {
				coldRates = append(coldRates, rate)
			} else {
				warmRates = append(warmRates, rate)
			}
			return fmt.Sprintf("a1.sources = r1\na1.sources.r1.type = spooldir\n"+
				"a1.sources.r1.spoolDir = %s\na1.sources.r1.deletePolicy = immediate\n"+
				"a1.sources.r1.batchSize = 1000\na1.sources.r1.channels = c1\n", spool) + memoryNull
		},
		// The file is moved in once the agent runs (same file system, so a
		// rename: complete the moment it appears, as spooling requires).
		Load: func(ctx context.Context, p Ports, events, bodySize int) error {
			return os.Rename(filepath.Join(p.Dir, "data.stage"), filepath.Join(p.Dir, "spool", "data.log"))
		},
		BodySize:    100,
		SinkKey:     "CHANNEL.c1", // Flume's null sink keeps no counters: count committed takes
		FixedEvents: SpoolDirEvents,
		Note: func(r Result) string {
			mbs := r.EventsPerS * 101 / 1e6 // lines with their newlines, as read from disk
			rates, state := coldRates, "cold-cache"
			if len(rates) == 0 {
				rates, state = warmRates, "warm-cache (the page cache could not be dropped)"
			}
			if len(rates) == 0 {
				return ""
			}
			disk := median(rates)
			return fmt.Sprintf("Sluice streamed %.0f MB/s of file, %.0f%% of this machine's %s sequential read rate of the same file (%.0f MB/s, the median of %d reads measured just before the runs).",
				mbs, 100*mbs/disk, state, disk, len(rates))
		},
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// SpoolDirEvents is the line count of the spooldir workload: 1 GB.
const SpoolDirEvents = 10_000_000

// writeLines writes n lines of bodySize bytes each (plus '\n'), with a
// modification time in the past so the source need not wait for the file
// to settle.
func writeLines(path string, n, bodySize int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	line := make([]byte, bodySize+1)
	for i := range line {
		line[i] = 'a' + byte(i%26)
	}
	line[bodySize] = '\n'
	for i := 0; i < n; i++ {
		copy(line, fmt.Sprintf("%010d", i))
		if _, err := w.Write(line); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	old := time.Now().Add(-time.Hour)
	return os.Chtimes(path, old, old)
}

// dropCaches writes dirty pages and empties the page cache (root only).
func dropCaches() error {
	f, err := os.OpenFile("/proc/sys/vm/drop_caches", os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString("3\n")
	return err
}

// readRate reads a file start to end in 1 MiB reads and returns MB/s.
func readRate(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	start := time.Now()
	var n int64
	for {
		m, err := f.Read(buf)
		n += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds() / 1e6, nil
}
