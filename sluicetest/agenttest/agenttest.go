// Package agenttest runs whole agents from properties text in tests: the
// helpers component tests need for a source → channel → sink flow through
// the real agent. It is apart from sluicetest because the agent's own tests
// import sluicetest.
package agenttest

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice/agent"
	"github.com/sluiceio/sluice/conf"
)

// Run builds and starts agent a1 from properties text, logging to log; it
// fails t on any build problem that is not a warning, and stops the agent
// when the test ends.
func Run(t testing.TB, text string, log *slog.Logger) *agent.Agent {
	t.Helper()
	props := conf.ParseProperties([]byte(text), "agent.conf")
	cfg := conf.Build(props, "a1", nil, func(string) (string, bool) { return "", false })
	a, problems := agent.Build(cfg, log)
	for _, p := range problems {
		if !p.Warning {
			t.Fatalf("build: %v", p)
		}
	}
	if err := a.Start(context.Background(), agent.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := a.Stop(ctx); err != nil {
			t.Errorf("stop agent: %v", err)
		}
	})
	return a
}

// SetProps replaces (or appends) "key = value" lines of a properties text.
func SetProps(text string, kv ...string) string {
	for i := 0; i+1 < len(kv); i += 2 {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(kv[i]) + `\s*=.*$`)
		line := kv[i] + " = " + kv[i+1]
		if re.MatchString(text) {
			text = re.ReplaceAllLiteralString(text, line)
		} else {
			text += "\n" + line + "\n"
		}
	}
	return text
}

// Example returns the text of examples/<name> of this checkout.
func Example(t testing.TB, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// WaitUntil polls cond every 200 ms and fails t after timeout.
func WaitUntil(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// NetcatSend writes lines to a netcat source at addr (waiting up to a
// minute for it to listen) and waits for one "OK" per line.
func NetcatSend(t testing.TB, addr string, lines []string) {
	t.Helper()
	var c net.Conn
	var err error
	WaitUntil(t, "the netcat source", time.Minute, func() bool {
		c, err = net.Dial("tcp", addr)
		return err == nil
	})
	defer c.Close()
	if _, err := c.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3*len(lines))
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Minute))
	got := 0
	for got < len(buf) {
		n, err := c.Read(buf[got:])
		if err != nil {
			t.Fatalf("netcat answered %q: %v", buf[:got], err)
		}
		got += n
	}
	if strings.Count(string(buf), "OK\n") != len(lines) {
		t.Fatalf("netcat answered %q", buf)
	}
}
