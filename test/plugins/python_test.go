package plugins

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// pythonPlugin copies testdata/pysink into a plugins.d and generates its
// gRPC modules from plugin.proto with grpc_tools.protoc (PyPI's
// grpcio-tools). It fails the test when Python or grpcio is missing.
func pythonPlugin(t *testing.T) string {
	t.Helper()
	if out, err := exec.Command("python3", "-c", "import grpc, grpc_tools, grpc_health").CombinedOutput(); err != nil {
		t.Fatalf("the Python plugin needs python3 with grpcio, grpcio-tools and grpcio-health-checking (pip install): %v\n%s", err, out)
	}
	root, err := peers.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pd := filepath.Join(dir, "pysink")
	if err := os.MkdirAll(filepath.Join(pd, "gen"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"plugin.py", "run.sh", "plugin.json"} {
		b, err := os.ReadFile(filepath.Join("testdata/pysink", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pd, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	gen := exec.Command("python3", "-m", "grpc_tools.protoc", "-I", filepath.Join(root, "plugins/proto"),
		"--python_out", filepath.Join(pd, "gen"), "--grpc_python_out", filepath.Join(pd, "gen"), "sluice/plugin/v1/plugin.proto")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("grpc_tools.protoc: %v\n%s", err, out)
	}
	return dir
}

// A sink plugin written in Python: sluice check shows its property errors
// at file:line, and an agent moves every event through it.
func TestPythonSinkPlugin(t *testing.T) {
	dir := pythonPlugin(t)
	out := filepath.Join(t.TempDir(), "out.txt")
	const total = 3000
	conf := fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.totalEvents = %d
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = py_file
a1.sinks.k1.channel = c1
a1.sinks.k1.path = %s
`, total, out)
	work := t.TempDir()
	bad := filepath.Join(work, "bad.conf")
	if err := os.WriteFile(bad, []byte(conf+"a1.sinks.k1.batchSize = many\na1.sinks.k1.colour = red\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := exec.Command(sluiceBin, "check", "-n", "a1", "-f", bad, "--plugins-path", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(res), `a1.sinks.k1.batchSize (`+bad+`:11): "many" is not a whole number of at least 1`) {
		t.Fatalf("sluice check: %v\n%s", err, res)
	}
	ag := startAgent(t, conf, "--plugins-path", dir)
	waitFor(t, "every event in the file", 120*time.Second, func() bool {
		b, _ := os.ReadFile(out)
		return bytes.Count(b, []byte("\n")) >= total
	})
	b, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	for i, l := range lines {
		if l != fmt.Sprint(i) {
			t.Fatalf("line %d is %q", i, l)
		}
	}
	if len(lines) != total {
		t.Fatalf("%d lines, want %d", len(lines), total)
	}
	// A clean stop ends the Python process too (it has no go-plugin
	// controller: the agent kills it after Stop).
	pids := pluginPIDs(ag.PID())
	if len(pids) != 1 {
		t.Fatalf("plugin processes %v, want the Python one", pids)
	}
	if err := ag.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the Python plugin gone", 30*time.Second, func() bool { return !alive(pids[0]) })
}
