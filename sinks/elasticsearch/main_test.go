package elasticsearch

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sluicetest"
	"github.com/sluiceio/sluice/sluicetest/agenttest"
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
	agenttest.WaitUntil(t, "the netcat source", time.Minute, func() bool {
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
