// Package plugins tests external plugins end to end: the real sluice
// binary loads the example plugins of examples/plugins (built here into a
// plugins.d layout) and writes into a real redis-server.
package plugins

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluiceio/sluice/test/peers"
)

var (
	sluiceBin  string
	pluginsDir string // a plugins.d with redis/ and jsonheaders/
)

func TestMain(m *testing.M) {
	os.Exit(peers.RunWithSluice(func() int {
		dir, err := os.MkdirTemp("", "sluice-plugins.d")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if err := peers.BuildPlugins(dir, "redis", "jsonheaders"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		pluginsDir = dir
		return m.Run()
	}, &sluiceBin))
}

// pluginPIDs lists the processes whose parent is pid and whose command
// line names a plugin (…-plugin, or the Python test plugin's plugin.py).
func pluginPIDs(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 2 || f[1] != strconv.Itoa(pid) || f[0] == "Z" {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.Contains(string(cmdline), "-plugin") || strings.Contains(string(cmdline), "plugin.py") {
			out = append(out, n)
		}
	}
	return out
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}

// waitFor polls ok until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// seqConf is seq -> memory -> the redis plugin sink, with extra lines.
func seqConf(total int, addr, key, extra string) string {
	return fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.totalEvents = %d
a1.sources.r1.batchSize = 100
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 5000
a1.channels.c1.transactionCapacity = 200
a1.sinks.k1.type = redis
a1.sinks.k1.channel = c1
a1.sinks.k1.addr = %s
a1.sinks.k1.key = %s
a1.sinks.k1.batchSize = 100
a1.sinks.k1.plugin.healthInterval = 500
a1.sinks.k1.plugin.maxBackoff = 2000
%s`, total, addr, key, extra)
}

// missing lists the numbers 0..total-1 absent from the lists keys.
func missing(ctx context.Context, c redis.UniversalClient, total int, keys ...string) (missing []int, dup int, err error) {
	seen := make([]bool, total)
	for _, k := range keys {
		vals, err := c.LRange(ctx, k, 0, -1).Result()
		if err != nil {
			return nil, 0, err
		}
		for _, v := range vals {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n >= total {
				return nil, 0, fmt.Errorf("unexpected value %q in %s", v, k)
			}
			if seen[n] {
				dup++
			}
			seen[n] = true
		}
	}
	for i, s := range seen {
		if !s {
			missing = append(missing, i)
		}
	}
	return missing, dup, nil
}

func startAgent(t *testing.T, conf string, extra ...string) *peers.Sluice {
	t.Helper()
	return peers.StartSluiceAgent(t, sluiceBin, t.TempDir(), "a1", conf,
		append([]string{"--plugins-path", pluginsDir}, extra...)...)
}

func readLines(t *testing.T, r *bufio.Reader, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
}
