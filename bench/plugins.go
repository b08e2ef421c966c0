package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/sluiceio/sluice/test/peers"
)

// The plugin workloads (issue 17) run each plugin component twice on the
// same pipeline: compiled into the agent, and as the example plugin
// process loaded with --plugins-path. Flume has no such plugins, so they
// run on Sluice only.

// pluginBatch is the source's and the sink's batch size: the goal
// (the plugin path keeps at least half the in-process rate) is stated for
// batches of 1000.
const pluginBatch = 1000

// pluginRedisBody is the body size of the Redis sink workloads.
const pluginRedisBody = 100

// The plugin workloads share, built or started by the first of them that
// runs and removed by StopPlugins: a plugins.d with the example plugins, an
// agent binary with the same components compiled in, and a redis-server.
var plug struct {
	mu     sync.Mutex
	dir    string // plugins.d/ and sluice-inprocess
	redis  *peers.Redis
	inProc map[string]float64 // the in-process rows' events/s, by component
}

// inProcessMain is added to cmd/sluice (with go build -overlay, so the
// checkout is untouched) to register the example plugins' components in
// the agent itself under their plugin type names.
const inProcessMain = `package main

import (
	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/examples/plugins/jsonheaders/jsonheaders"
	"github.com/sluiceio/sluice/examples/plugins/redis/redissink"
)

func init() {
	sluice.Register(jsonheaders.Spec())
	sluice.Register(redissink.Spec())
}
`

// pluginSetup builds the plugins and the in-process agent once.
func pluginSetup(ctx context.Context) (string, error) {
	plug.mu.Lock()
	defer plug.mu.Unlock()
	if plug.dir != "" {
		return plug.dir, nil
	}
	dir, err := os.MkdirTemp("", "sluice-bench-plugins-")
	if err != nil {
		return "", err
	}
	if err := peers.BuildPlugins(filepath.Join(dir, "plugins.d"), "jsonheaders", "redis"); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	if err := buildInProcess(ctx, dir); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	plug.dir, plug.inProc = dir, map[string]float64{}
	return dir, nil
}

func buildInProcess(ctx context.Context, dir string) error {
	root, err := peers.RepoRoot()
	if err != nil {
		return err
	}
	src := filepath.Join(dir, "inprocess.go")
	if err := os.WriteFile(src, []byte(inProcessMain), 0o644); err != nil {
		return err
	}
	overlay, _ := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(root, "cmd", "sluice", "zz_bench_inprocess.go"): src},
	})
	ov := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ov, overlay, 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-overlay", ov, "-o", filepath.Join(dir, "sluice-inprocess"), "./cmd/sluice")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building sluice with the example plugins compiled in: %w", err)
	}
	return nil
}

func pluginRedis(ctx context.Context) (*peers.Redis, error) {
	plug.mu.Lock()
	defer plug.mu.Unlock()
	if plug.redis != nil {
		return plug.redis, nil
	}
	r, err := peers.StartRedis(ctx, "", 0)
	if err != nil {
		if r != nil {
			err = fmt.Errorf("%w\nredis log:\n%s", err, r.LogTail())
		}
		return nil, err
	}
	plug.redis = r
	return r, nil
}

// StopPlugins stops the plugin workloads' redis-server and removes what
// they built, if one of them ran.
func StopPlugins() {
	plug.mu.Lock()
	defer plug.mu.Unlock()
	if plug.redis != nil {
		if err := plug.redis.Stop(); err != nil {
			fmt.Println("stopping redis-server:", err)
		}
		os.RemoveAll(plug.redis.Dir)
		plug.redis = nil
	}
	if plug.dir != "" {
		os.RemoveAll(plug.dir)
		plug.dir = ""
	}
}

// pluginWorkloads are the json_headers interceptor and the redis sink, each
// in process and then as a plugin; the plugin row's note gives the ratio.
func pluginWorkloads() []Workload {
	var out []Workload
	for _, asPlugin := range []bool{false, true} {
		out = append(out, jsonHeadersWorkload(asPlugin))
	}
	for _, asPlugin := range []bool{false, true} {
		out = append(out, redisSinkWorkload(asPlugin))
	}
	return out
}

// pluginCommand runs the agent with the component as a plugin (the real
// binary, --plugins-path) or compiled in (the binary pluginSetup built).
func pluginCommand(asPlugin bool) func(cmd *exec.Cmd) {
	return func(cmd *exec.Cmd) {
		plug.mu.Lock()
		dir := plug.dir
		plug.mu.Unlock()
		if asPlugin {
			cmd.Args = append(cmd.Args, "--plugins-path", filepath.Join(dir, "plugins.d"))
			return
		}
		cmd.Path = filepath.Join(dir, "sluice-inprocess")
		cmd.Args[0] = cmd.Path
	}
}

func pluginMode(asPlugin bool) string {
	if asPlugin {
		return "as a plugin"
	}
	return "in process"
}

// pluginNote records the in-process rate of component and, on its plugin
// row, states the plugin's rate as a share of it.
func pluginNote(component string, asPlugin bool) func(Result) string {
	return func(r Result) string {
		plug.mu.Lock()
		defer plug.mu.Unlock()
		if !asPlugin {
			plug.inProc[component] = r.EventsPerS
			return fmt.Sprintf("the baseline of the plugin row: the %s compiled into an agent the benchmark builds from this checkout", component)
		}
		base, ok := plug.inProc[component]
		if !ok || base <= 0 {
			return "the in-process row did not run, so no ratio"
		}
		verdict := "meets"
		if r.EventsPerS < base/2 {
			verdict = "falls short of"
		}
		return fmt.Sprintf("the plugin reached %.0f events/s, %.0f%% of the %.0f events/s of the same %s compiled into the agent (ratio %.2f; %s the issue's goal of at least 0.5 at batches of %d)",
			r.EventsPerS, 100*r.EventsPerS/base, base, component, r.EventsPerS/base, verdict, pluginBatch)
	}
}

// jsonLine is the interceptor workloads' body: a JSON object of three
// fields, as plugins' BenchmarkJSONHeaders uses.
func jsonLine(i int) string {
	return fmt.Sprintf(`{"user":"u%d","level":"info","msg":"something happened to request %08d"}`, i%13, i)
}

// jsonHeadersWorkload is spooldir → json_headers (two fields into headers)
// → memory → null over a file of JSON lines written before the agent
// starts and moved into the spool directory with the load.
func jsonHeadersWorkload(asPlugin bool) Workload {
	return Workload{
		Name: fmt.Sprintf("plugins: spooldir → json_headers interceptor %s → memory → null, %d-byte JSON lines, batches of %d",
			pluginMode(asPlugin), len(jsonLine(0)), pluginBatch),
		SluiceOnly: true,
		MaxEvents:  2_000_000,
		Prepare: func(ctx context.Context, p Ports) error {
			if _, err := pluginSetup(ctx); err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Join(p.Dir, "spool"), 0o755); err != nil {
				return err
			}
			return writeJSONLines(filepath.Join(p.Dir, "data.stage"), p.Events)
		},
		Conf: func(p Ports) string {
			return fmt.Sprintf("a1.sources = r1\na1.sources.r1.type = spooldir\n"+
				"a1.sources.r1.spoolDir = %s\na1.sources.r1.deletePolicy = immediate\n"+
				"a1.sources.r1.batchSize = %d\na1.sources.r1.channels = c1\n"+
				"a1.sources.r1.interceptors = i1\na1.sources.r1.interceptors.i1.type = json_headers\n"+
				"a1.sources.r1.interceptors.i1.fields = user level\n",
				filepath.Join(p.Dir, "spool"), pluginBatch) + memoryNull
		},
		Load: func(ctx context.Context, p Ports, events, bodySize int) error {
			return os.Rename(filepath.Join(p.Dir, "data.stage"), filepath.Join(p.Dir, "spool", "data.log"))
		},
		BodySize:      len(jsonLine(0)),
		SinkKey:       "CHANNEL.c1",
		SluiceCommand: pluginCommand(asPlugin),
		Note:          pluginNote("json_headers interceptor", asPlugin),
	}
}

func writeJSONLines(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := 0; i < n; i++ {
		w.WriteString(jsonLine(i))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// redisSinkWorkload is stress → memory → redis sink (RPUSH, one pipeline
// per batch of 1000) into a list of its own per run, counted by the sink's
// EventDrainSuccessCount and checked at the end against the list's length.
func redisSinkWorkload(asPlugin bool) Workload {
	key := func(p Ports) string { return runName("redis", p) }
	return Workload{
		Name: fmt.Sprintf("plugins: stress → memory → redis sink %s (redis-server, RPUSH), %d-byte bodies, batches of %d",
			pluginMode(asPlugin), pluginRedisBody, pluginBatch),
		SluiceOnly: true,
		MaxEvents:  1_000_000,
		Prepare: func(ctx context.Context, p Ports) error {
			if _, err := pluginSetup(ctx); err != nil {
				return err
			}
			_, err := pluginRedis(ctx)
			return err
		},
		Conf: func(p Ports) string {
			plug.mu.Lock()
			addr := plug.redis.Addr()
			plug.mu.Unlock()
			return stressSource(p.Events) + memoryChannel + fmt.Sprintf("a1.sinks = k1\n"+
				"a1.sinks.k1.type = redis\na1.sinks.k1.addr = %s\na1.sinks.k1.key = %s\n"+
				"a1.sinks.k1.command = rpush\na1.sinks.k1.batchSize = %d\na1.sinks.k1.channel = c1\n",
				addr, key(p), pluginBatch)
		},
		SinkKey:  "SINK.k1",
		BodySize: pluginRedisBody,
		Verify: func(p Ports) error {
			plug.mu.Lock()
			r := plug.redis
			plug.mu.Unlock()
			out, err := r.Cli("LLEN", key(p))
			if err != nil {
				return fmt.Errorf("LLEN %s: %w: %s", key(p), err, out)
			}
			// The list is not needed once counted; a full run would
			// otherwise hold every run's events in memory.
			defer func() { _, _ = r.Cli("DEL", key(p)) }()
			n, err := strconv.Atoi(strings.TrimSpace(out))
			if err != nil {
				return fmt.Errorf("LLEN %s answered %q", key(p), out)
			}
			if n != p.Events {
				return fmt.Errorf("the list %s holds %d events, not %d", key(p), n, p.Events)
			}
			return nil
		},
		SluiceCommand: pluginCommand(asPlugin),
		Note:          pluginNote("redis sink", asPlugin),
	}
}
