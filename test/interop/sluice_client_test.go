package interop

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// runAvroClient runs `sluice avro-client args...` and fails the test unless
// it exits 0 (it exits non-zero when a batch was not acknowledged).
func runAvroClient(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(binary, append([]string{"avro-client"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("sluice avro-client %v: %v\n%s", args, err, out)
	}
}

// binaryLines returns n lines of random bytes, anything but \r and \n
// (which end a line), some empty, as one file and as the bodies they must
// become.
func binaryLines(seed uint64, n int) ([]byte, [][]byte) {
	r := rand.New(rand.NewPCG(seed, 0xb1e5))
	var file []byte
	bodies := make([][]byte, n)
	for i := range bodies {
		b := make([]byte, r.IntN(1025))
		if r.IntN(100) == 0 {
			b = b[:0]
		}
		for j := range b {
			for b[j] = byte(r.Uint32()); b[j] == '\n' || b[j] == '\r'; b[j] = byte(r.Uint32()) {
			}
		}
		bodies[i] = b
		file = append(append(file, b...), '\n')
	}
	return file, bodies
}

// sluiceCliHeaders are cliHeaders without the value that starts with
// (escaped) blanks: `sluice avro-client` reads -R files with the agent's
// configuration reader, which trims values as Flume's configuration does,
// while Flume's avro-client keeps them (java.util.Properties alone). See
// docs/interop.md.
var sluiceCliHeaders = func() map[string]string {
	h := merge(cliHeaders)
	delete(h, "leading sp")
	return h
}()

// clientCases are the `sluice avro-client` runs against Flume's avro
// source (see TestSluiceToFlume): text lines with -H/-p (Flume's batch of
// 5) and a header file; the same through deflate, configured with -P as
// Flume's client is; and lines of arbitrary bytes, which the client passes
// through unchanged.
func clientCases() []clientCase {
	rpcProps := func(t *testing.T, dir string, port int, extra string) string {
		return mustWrite(t, filepath.Join(dir, "rpc.properties"), []byte(fmt.Sprintf(
			"client.type = default\nhosts = h1\nhosts.h1 = 127.0.0.1:%d\n%s", port, extra)))
	}
	check := func(t *testing.T, mon int, sink, out string, want []peers.Event, what string, start time.Time) {
		t.Helper()
		waitDrained(t, mon, sink, len(want), time.Minute)
		took := time.Since(start)
		sameEvents(t, readEvents(t, out), want)
		t.Logf("%d lines sluice avro-client (%s) → Flume in %v", len(want), what, took.Round(time.Millisecond))
	}
	return []clientCase{
		{name: "plain", run: func(t *testing.T, dir string, port, mon int, sink, out string) {
			tmp := t.TempDir()
			text, bodies := textLines(seed(t), numEvents)
			in := mustWrite(t, filepath.Join(tmp, "lines.txt"), text)
			hdr := mustWrite(t, filepath.Join(tmp, "headers.properties"), javaProps(sluiceCliHeaders))
			start := time.Now()
			runAvroClient(t, "-H", "127.0.0.1", "-p", fmt.Sprint(port), "-F", in, "-R", hdr)
			check(t, mon, sink, out, linesWithHeaders(bodies, sluiceCliHeaders), "-H -p -F -R, batches of 5", start)
		}},
		{name: "deflate", deflate: true, run: func(t *testing.T, dir string, port, mon int, sink, out string) {
			tmp := t.TempDir()
			text, bodies := textLines(seed(t), numEvents)
			in := mustWrite(t, filepath.Join(tmp, "lines.txt"), text)
			hdr := mustWrite(t, filepath.Join(tmp, "headers.properties"), javaProps(sluiceCliHeaders))
			props := rpcProps(t, tmp, port, "batch-size = 500\ncompression-type = deflate\ncompression-level = 6\n")
			start := time.Now()
			runAvroClient(t, "-P", props, "-F", in, "-R", hdr)
			check(t, mon, sink, out, linesWithHeaders(bodies, sluiceCliHeaders), "-P deflate batch-size 500, -F, -R", start)
		}},
		{name: "bytes", run: func(t *testing.T, dir string, port, mon int, sink, out string) {
			tmp := t.TempDir()
			file, bodies := binaryLines(seed(t), numEvents)
			in := mustWrite(t, filepath.Join(tmp, "lines.bin"), file)
			props := rpcProps(t, tmp, port, "batch-size = 1000\n")
			start := time.Now()
			runAvroClient(t, "-P", props, "-F", in)
			check(t, mon, sink, out, linesWithHeaders(bodies, nil), "-P batch-size 1000, -F of arbitrary bytes", start)
		}},
	}
}
