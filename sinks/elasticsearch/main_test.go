package elasticsearch

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/agent"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
	"github.com/sluiceio/sluice/test/peers"

	_ "github.com/sluiceio/sluice/channels/memory"
	_ "github.com/sluiceio/sluice/channels/selector"
	_ "github.com/sluiceio/sluice/interceptors"
	_ "github.com/sluiceio/sluice/sources/netcat"
	_ "github.com/sluiceio/sluice/sources/seq"
)

// node is the package's OpenSearch (nil under -short). Each test writes
// to indices of its own.
var node *peers.OpenSearch

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // unit tests only: no Java
	}
	s, err := peers.StartOpenSearchProcess(context.Background(), peers.OpenSearchOptions{Fast: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sinks/elasticsearch: starting OpenSearch:", err)
		os.Exit(1)
	}
	node = s
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "sinks/elasticsearch: OpenSearch log tail:\n%s\n", s.LogTail())
	}
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "sinks/elasticsearch: stopping OpenSearch:", err)
	}
	os.Exit(code)
}

func needNode(t *testing.T) *peers.OpenSearch {
	t.Helper()
	if testing.Short() {
		t.Skip("needs OpenSearch (Java); skipped under -short")
	}
	return node
}

var indexSeq atomic.Int64

// newIndex is an index name (prefix) of the test's own.
func newIndex(t *testing.T) string {
	return fmt.Sprintf("t-%s-%d", strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-")), indexSeq.Add(1))
}

// newSink decodes property lines into a started sink.
func newSink(t *testing.T, log *slog.Logger, lines ...string) (*Sink, sluice.Env) {
	t.Helper()
	cfg := mustDecode(t, lines...)
	env := sluicetest.Env("k1")
	if log != nil {
		env.Logger = log
	}
	s, err := New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s, env
}

// runAgent builds and starts an agent from properties text; it is stopped
// when the test ends.
func runAgent(t *testing.T, text string, log *slog.Logger) *agent.Agent {
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

// setProps replaces (or adds) "key = value" lines of a properties text.
func setProps(text string, kv ...string) string {
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

func exampleConf(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// count is the number of documents in index (0 while it does not exist).
func count(t *testing.T, index string) int {
	t.Helper()
	n, err := node.Count(context.Background(), index)
	if err != nil {
		if strings.Contains(err.Error(), "index_not_found") || strings.Contains(err.Error(), "refused") {
			return 0
		}
		t.Fatal(err)
	}
	return n
}

// netcatSend writes lines to a netcat source and waits for its OKs.
func netcatSend(t *testing.T, addr string, lines []string) {
	t.Helper()
	var c net.Conn
	var err error
	waitUntil(t, "the netcat source", time.Minute, func() bool {
		c, err = net.Dial("tcp", addr)
		return err == nil
	})
	defer c.Close()
	if _, err := c.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3*len(lines))
	c.SetReadDeadline(time.Now().Add(time.Minute))
	got := 0
	for got < len(buf) {
		n, err := c.Read(buf[got:])
		if err != nil {
			t.Fatalf("netcat answered %q: %v", buf[:got], err)
		}
		got += n
	}
}
