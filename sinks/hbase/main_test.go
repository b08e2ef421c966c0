package hbase

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/sluiceio/sluice/sluicetest"
	"github.com/sluiceio/sluice/sluicetest/agenttest"
	"github.com/sluiceio/sluice/test/peers"

	_ "github.com/sluiceio/sluice/channels/memory"
	_ "github.com/sluiceio/sluice/channels/selector"
	_ "github.com/sluiceio/sluice/interceptors"
	_ "github.com/sluiceio/sluice/sources/netcat"
)

// hb is the package's HBase (nil under -short). Each test writes to tables
// of its own.
var hb *peers.HBase

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // unit tests only: no Java
	}
	h, err := peers.StartHBaseProcess(context.Background(), peers.HBaseOptions{Fast: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sinks/hbase: starting HBase:", err)
		os.Exit(1)
	}
	hb = h
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "sinks/hbase: HBase log tail:\n%s\n", h.LogTail())
	}
	if err := h.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "sinks/hbase: stopping HBase:", err)
	}
	os.Exit(code)
}

func needHBase(t *testing.T) *peers.HBase {
	t.Helper()
	if testing.Short() {
		t.Skip("needs HBase (Java); skipped under -short")
	}
	return hb
}

var tableSeq atomic.Int64

// newTable creates a table of the test's own with these families.
func newTable(t *testing.T, families ...string) string {
	t.Helper()
	name := fmt.Sprintf("t_%s_%d", regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "_"), tableSeq.Add(1))
	if err := hb.CreateTable(name, families...); err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
	return name
}

// pipeline runs netcat (a static header src=netcat) -> memory -> hbase2 with the sink's extra property
// lines ("key = value", keys under a1.sinks.k1.) and returns the netcat
// address and the agent's log.
func pipeline(t *testing.T, table string, sinkProps ...string) (string, *sluicetest.LogBuf) {
	t.Helper()
	port := peers.FreePort(t)
	text := fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = %d
a1.sources.r1.channels = c1
a1.sources.r1.interceptors = st
a1.sources.r1.interceptors.st.type = static
a1.sources.r1.interceptors.st.key = src
a1.sources.r1.interceptors.st.value = netcat
a1.channels.c1.type = memory
a1.channels.c1.capacity = 20000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = hbase2
a1.sinks.k1.channel = c1
a1.sinks.k1.table = %s
a1.sinks.k1.columnFamily = cf
a1.sinks.k1.zookeeperQuorum = %s
`, port, table, hb.ZK())
	for _, p := range sinkProps {
		text += "a1.sinks.k1." + p + "\n"
	}
	var log sluicetest.LogBuf
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent log:\n%s", log.String())
		}
	})
	agenttest.Run(t, text, log.Logger())
	return "127.0.0.1:" + strconv.Itoa(port), &log
}

func numbered(prefix string, n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("%s%05d", prefix, i)
	}
	return lines
}

// scan reads the table with HBase's Java client.
func scan(t *testing.T, table string) []peers.HBaseCell {
	t.Helper()
	cells, err := hb.Scan(table)
	if err != nil {
		t.Fatalf("scan %s: %v", table, err)
	}
	return cells
}

// counter is the value of row:cf:qual (0 when absent).
func counter(t *testing.T, table, row, qual string) int64 {
	t.Helper()
	for _, c := range scan(t, table) {
		if string(c.Row) == row && string(c.Family) == "cf" && string(c.Qualifier) == qual {
			n, ok := c.Int64()
			if !ok {
				t.Fatalf("%s: not a counter: %v", table, c)
			}
			return n
		}
	}
	return 0
}
