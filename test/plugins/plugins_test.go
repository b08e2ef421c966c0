package plugins

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluiceio/sluice/test/peers"
)

// A netcat source with the json_headers plugin interceptor feeding the
// redis plugin sink (XADD): every line reaches the stream with its JSON
// fields as headers, in order.
func TestInterceptorAndSinkPlugins(t *testing.T) {
	r := peers.StartRedisT(t)
	port := peers.FreePort(t)
	// The example file, on this test's port and server, with a password.
	root, err := peers.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(root, "examples/plugins/netcat-json-redis.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer("44445", fmt.Sprint(port), "127.0.0.1:6379", r.Addr()).Replace(string(example)) +
		"a1.sinks.k1.password = Hunter2Secret\n"
	// The server requires the password the sink sends (AUTH).
	if _, err := r.Cli("config", "set", "requirepass", "Hunter2Secret"); err != nil {
		t.Fatal(err)
	}
	ag := startAgent(t, conf)
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 200
	br := bufio.NewReader(c)
	for i := 0; i < n; i++ {
		fmt.Fprintf(c, `{"user":"u%d","n":%d,"x":true}`+"\n", i%7, i)
	}
	readLines(t, br, n) // one OK per committed line
	rc := redis.NewClient(&redis.Options{Addr: r.Addr(), Password: "Hunter2Secret"})
	defer rc.Close()
	ctx := context.Background()
	waitFor(t, "200 stream entries", 60*time.Second, func() bool {
		l, _ := rc.XLen(ctx, "events").Result()
		return l >= n
	})
	msgs, err := rc.XRange(ctx, "events", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != n {
		t.Fatalf("%d entries, want %d", len(msgs), n)
	}
	for i, m := range msgs {
		want := fmt.Sprintf(`{"user":"u%d","n":%d,"x":true}`, i%7, i)
		if m.Values["body"] != want || m.Values["header.j.user"] != fmt.Sprintf("u%d", i%7) || m.Values["header.j.n"] != fmt.Sprint(i) {
			t.Fatalf("entry %d: %v, want body %s with headers j.user and j.n", i, m.Values, want)
		}
		if _, ok := m.Values["header.j.x"]; ok {
			t.Fatalf("entry %d: field x was not asked for: %v", i, m.Values)
		}
	}
	if strings.Contains(ag.Output(), "Hunter2Secret") {
		t.Fatal("the password shows in the agent's log")
	}
}

// The plugin process killed (SIGKILL) mid-stream is restarted, and every
// event reaches Redis: batches in flight went back to the channel.
func TestSinkPluginKilledMidStream(t *testing.T) {
	r := peers.StartRedisT(t)
	const total = 200000
	ag := startAgent(t, seqConf(total, r.Addr(), "seq", ""))
	rc := redis.NewClient(&redis.Options{Addr: r.Addr()})
	defer rc.Close()
	ctx := context.Background()
	for kills := 0; kills < 3; kills++ {
		at := int64(20000 * (kills + 1))
		waitFor(t, fmt.Sprintf("%d events in redis", at), 60*time.Second, func() bool {
			l, _ := rc.LLen(ctx, "seq").Result()
			return l >= at
		})
		pids := pluginPIDs(ag.PID())
		if len(pids) != 1 {
			t.Fatalf("plugin processes of the agent: %v, want 1", pids)
		}
		if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if l, _ := rc.LLen(ctx, "seq").Result(); l >= total {
			t.Fatalf("the stream was over (%d events) before the kill", l)
		}
		waitFor(t, "a new plugin process", 60*time.Second, func() bool {
			p := pluginPIDs(ag.PID())
			return len(p) == 1 && p[0] != pids[0]
		})
	}
	waitFor(t, "every event in redis", 120*time.Second, func() bool {
		m, _, err := missing(ctx, rc, total, "seq")
		return err == nil && len(m) == 0
	})
	_, dup, _ := missing(ctx, rc, total, "seq")
	t.Logf("%d events, %d duplicates (batches redelivered after a kill)", total, dup)
	if dup > 3*100 {
		t.Fatalf("%d duplicates: more than one batch per kill", dup)
	}
	if !strings.Contains(ag.Output(), "plugin restarted") {
		t.Fatal("no 'plugin restarted' in the log")
	}
}

// A plugin that stops answering (SIGSTOP) is timed out
// (plugin.callTimeout), killed and restarted; nothing is lost.
func TestHungSinkPluginRestarted(t *testing.T) {
	r := peers.StartRedisT(t)
	const total = 100000
	ag := startAgent(t, seqConf(total, r.Addr(), "seq", "a1.sinks.k1.plugin.callTimeout = 1500\n"))
	rc := redis.NewClient(&redis.Options{Addr: r.Addr()})
	defer rc.Close()
	ctx := context.Background()
	waitFor(t, "first events", 60*time.Second, func() bool {
		l, _ := rc.LLen(ctx, "seq").Result()
		return l > 0
	})
	pids := pluginPIDs(ag.PID())
	if len(pids) != 1 {
		t.Fatalf("plugin processes: %v", pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if l, _ := rc.LLen(ctx, "seq").Result(); l >= total {
		t.Fatalf("the stream was over (%d events) before the plugin hung", l)
	}
	ag.WaitLog("no answer within plugin.callTimeout", 60*time.Second)
	waitFor(t, "the hung process gone", 30*time.Second, func() bool { return !alive(pids[0]) })
	waitFor(t, "every event in redis", 120*time.Second, func() bool {
		m, _, err := missing(ctx, rc, total, "seq")
		return err == nil && len(m) == 0
	})
	if !strings.Contains(ag.Output(), "plugin restarted") {
		t.Fatal("no 'plugin restarted' in the log")
	}
}

// kill -9 of the agent leaves no plugin process running.
func TestNoOrphansAfterAgentKill9(t *testing.T) {
	r := peers.StartRedisT(t)
	conf := seqConf(1000000, r.Addr(), "seq", `a1.sources.r1.interceptors = i1
a1.sources.r1.interceptors.i1.type = json_headers
a1.sources.r1.interceptors.i1.fields = a
`)
	ag := startAgent(t, conf)
	var pids []int
	waitFor(t, "two plugin processes", 60*time.Second, func() bool {
		pids = pluginPIDs(ag.PID())
		return len(pids) == 2
	})
	ag.Kill()
	waitFor(t, "no plugin process left", 30*time.Second, func() bool {
		for _, p := range pids {
			if alive(p) {
				return false
			}
		}
		return true
	})
}

// A type no plugin provides, a plugin of another protocol version, a
// plugin whose program is missing and properties the plugin refuses are
// clear configuration errors in `sluice check`, with file:line.
func TestPluginConfigErrors(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "a.conf")
	write := func(s string) {
		if err := os.WriteFile(conf, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check := func(env []string, args ...string) (string, int) {
		cmd := exec.Command(sluiceBin, append([]string{"check", "-n", "a1", "-f", conf}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	write(seqConf(10, "127.0.0.1:1", "k", "a1.sinks.k1.command = lpush\na1.sinks.k1.password = Hunter2Secret\n"))
	expect := func(out string, code int, wants ...string) {
		t.Helper()
		if code != 1 {
			t.Fatalf("exit %d, want 1:\n%s", code, out)
		}
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Fatalf("output lacks %q:\n%s", w, out)
			}
		}
		if strings.Contains(out, "Hunter2Secret") {
			t.Fatalf("the password shows:\n%s", out)
		}
	}
	// No plugin path: the type is unknown.
	out, code := check(nil)
	expect(out, code, `a1.sinks.k1.type (`+conf+`:11): unknown sink type "redis"`)
	// The plugin validates its properties.
	out, code = check(nil, "--plugins-path", pluginsDir)
	expect(out, code, `a1.sinks.k1.command (`+conf+`:18): "lpush" is not rpush or xadd`)
	// Found through the conf dir's plugins.d as well.
	confDir := t.TempDir()
	if err := os.Symlink(pluginsDir, filepath.Join(confDir, "plugins.d")); err != nil {
		t.Fatal(err)
	}
	out, code = check(nil, "-c", confDir)
	expect(out, code, `"lpush" is not rpush or xadd`)
	// Another protocol version: refused, naming both.
	write(seqConf(10, "127.0.0.1:1", "k", ""))
	out, code = check([]string{"SLUICE_PLUGIN_PROTOCOL=3"}, "--plugins-path", pluginsDir)
	expect(out, code, `a1.sinks.k1.type (`+conf+`:11)`, "speaks Sluice plugin protocol version 3, this agent versions 1 and 2")
	// A plugin whose program is missing.
	broken := t.TempDir()
	if err := os.MkdirAll(filepath.Join(broken, "redis"), 0o755); err != nil {
		t.Fatal(err)
	}
	manifest, _ := os.ReadFile(filepath.Join(pluginsDir, "redis", "plugin.json"))
	if err := os.WriteFile(filepath.Join(broken, "redis", "plugin.json"), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = check(nil, "--plugins-path", broken)
	expect(out, code, `a1.sinks.k1.type (`+conf+`:11): plugin redis: start `+filepath.Join(broken, "redis", "redis-plugin"))
	// And the good configuration passes.
	out, code = check(nil, "--plugins-path", pluginsDir)
	if code != 0 || !strings.Contains(out, "sink k1 (redis)") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	// sluice list shows the plugin types.
	lout, err := exec.Command(sluiceBin, "list", "--plugins-path", pluginsDir).CombinedOutput()
	if err != nil || !strings.Contains(string(lout), "json_headers") || !strings.Contains(string(lout), "redis") {
		t.Fatalf("sluice list: %v\n%s", err, lout)
	}
}
