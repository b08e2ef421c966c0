package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// SpoolRoll is the spooldir → memory → file_roll workload: one large file
// of events×101 bytes (100-byte lines and their newlines), written before
// the agent starts and moved into the spool directory with the load, is
// read, buffered and written out again. Delivery is counted at the
// channel's committed takes (Flume's file_roll sink counts too, but the
// channel is counted alike for every workload that runs on Flume), and the
// output directory must then hold every line.
func SpoolRoll() Workload {
	return Workload{
		Name: "spooldir (one large file) → memory → file_roll, 100-byte lines",
		Conf: func(p Ports) string {
			spool := filepath.Join(p.Dir, "spool")
			out := filepath.Join(p.Dir, "out")
			for _, d := range []string{spool, out} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return "# cannot create " + d + ": " + err.Error()
				}
			}
			// Flume's file_roll sink does not create its directory.
			if err := writeLines(filepath.Join(p.Dir, "data.stage"), p.Events, 100); err != nil {
				return "# cannot write the spool file: " + err.Error()
			}
			return fmt.Sprintf(`a1.sources = r1
a1.sources.r1.type = spooldir
a1.sources.r1.spoolDir = %s
a1.sources.r1.deletePolicy = immediate
a1.sources.r1.batchSize = 1000
a1.sources.r1.channels = c1
`, spool) + memoryChannel + fmt.Sprintf(`a1.sinks = k1
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = %s
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 1000
a1.sinks.k1.channel = c1
`, out)
		},
		// A rename on the same file system: the file is complete the moment
		// it appears, as spooling requires.
		Load: func(ctx context.Context, p Ports, events, bodySize int) error {
			return os.Rename(filepath.Join(p.Dir, "data.stage"), filepath.Join(p.Dir, "spool", "data.log"))
		},
		Verify: func(p Ports) error {
			n, err := countLines(filepath.Join(p.Dir, "out"))
			if err != nil {
				return err
			}
			if n != p.Events {
				return fmt.Errorf("the output files hold %d lines, want %d", n, p.Events)
			}
			return nil
		},
		BodySize: 100,
		SinkKey:  "CHANNEL.c1",
	}
}

// countLines counts the newlines of every file in dir.
func countLines(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	total := 0
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return 0, err
		}
		for {
			n, err := f.Read(buf)
			total += bytes.Count(buf[:n], []byte{'\n'})
			if err == io.EOF {
				break
			}
			if err != nil {
				f.Close()
				return 0, err
			}
		}
		f.Close()
	}
	return total, nil
}
