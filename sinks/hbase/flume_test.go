package hbase

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice/sluicetest"
	"github.com/sluiceio/sluice/sluicetest/agenttest"
	"github.com/sluiceio/sluice/test/peers"
)

// flumeCase is one sink of the comparison: its serializer settings, and
// what its row keys look like when they are generated (nil: the keys come
// from the data and must be equal).
type flumeCase struct {
	name  string
	props string
	key   *regexp.Regexp
	rows  int // rows the lines of the test make (counter row included)
	// The counter, written after a batch's rows (Flume: Puts, then
	// Increments), "" for none.
	incRow, incCol string
}

var flumeCases = []flumeCase{
	{"simple_uuid", `serializer = org.apache.flume.sink.hbase2.SimpleHBase2EventSerializer
serializer.rowPrefix = ev-
serializer.payloadColumn = body
serializer.incrementRow = counters
serializer.incrementColumn = n
coalesceIncrements = true
`, regexp.MustCompile(`^ev-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`), 124, "counters", "n"},
	{"simple_random", `serializer.suffix = random
`, regexp.MustCompile(`^default-?[0-9]{1,19}$`), 124, "incRow", "iCol"},
	{"regex_key", `serializer = org.apache.flume.sink.hbase2.RegexHBase2EventSerializer
serializer.regex = ([^ ]+) (info|warn) (.*)
serializer.regexIgnoreCase = true
serializer.colNames = ROW_KEY,level,msg
serializer.rowKeyIndex = 0
serializer.depositHeaders = true
`, nil, 91, "", ""},
	{"regex_generated", `serializer = org.apache.flume.sink.hbase2.RegexHBase2EventSerializer
serializer.regex = ([^ ]+) ([A-Za-z]+) (.*)
serializer.colNames = id,level,msg
`, regexp.MustCompile(`^[0-9]{13}-[A-Za-z0-9]{10}-[0-9]+$`), 121, "", ""},
}

// comparisonConf is netcat (header src=netcat) replicated into one memory
// channel per case, each drained by an hbase2 sink into table <prefix>_<case>.
func comparisonConf(port int, prefix, zk string) string {
	var b strings.Builder
	var chans, sinks []string
	for i := range flumeCases {
		chans = append(chans, fmt.Sprintf("c%d", i))
		sinks = append(sinks, fmt.Sprintf("k%d", i))
	}
	fmt.Fprintf(&b, "a1.sources = r1\na1.channels = %s\na1.sinks = %s\n", strings.Join(chans, " "), strings.Join(sinks, " "))
	fmt.Fprintf(&b, "a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = %d\n", port)
	fmt.Fprintf(&b, "a1.sources.r1.channels = %s\n", strings.Join(chans, " "))
	b.WriteString("a1.sources.r1.interceptors = st\na1.sources.r1.interceptors.st.type = static\n" +
		"a1.sources.r1.interceptors.st.key = src\na1.sources.r1.interceptors.st.value = netcat\n")
	for i, c := range flumeCases {
		fmt.Fprintf(&b, "a1.channels.c%d.type = memory\na1.channels.c%d.capacity = 10000\n", i, i)
		fmt.Fprintf(&b, "a1.sinks.k%d.type = hbase2\na1.sinks.k%d.channel = c%d\na1.sinks.k%d.table = %s_%s\n", i, i, i, i, prefix, c.name)
		fmt.Fprintf(&b, "a1.sinks.k%d.columnFamily = cf\na1.sinks.k%d.zookeeperQuorum = %s\na1.sinks.k%d.batchSize = 50\n", i, i, zk, i)
		for _, l := range strings.Split(strings.TrimSpace(c.props), "\n") {
			fmt.Fprintf(&b, "a1.sinks.k%d.%s\n", i, l)
		}
	}
	return b.String()
}

// cellSets is a table's rows with their keys left out (or kept, for keys
// from the data): one sorted "qual=value;..." string per row, sorted. Keys
// must match key when it is set.
func cellSets(t *testing.T, table string, key *regexp.Regexp) []string {
	t.Helper()
	rows, err := hb.Rows(table)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for k, cols := range rows {
		var cells []string
		for q, v := range cols {
			cells = append(cells, fmt.Sprintf("%s=%q", q, v))
		}
		sort.Strings(cells)
		row := strings.Join(cells, ";")
		switch {
		case k == "incRow" || k == "counters":
			row = k + ":" + row
		case key == nil:
			row = k + ":" + row
		case !key.MatchString(k):
			t.Errorf("%s: row key %q is not like %s", table, k, key)
		}
		out = append(out, row)
	}
	sort.Strings(out)
	return out
}

// TestSameCellsAsFlume runs Apache Flume 1.11's hbase2 sink (the
// flume-hbase peer) and Sluice's with the same four serializer setups on
// the same lines into tables of their own on the same HBase, and compares
// the tables: the same rows and cells, counters included; generated row
// keys (uuid, random, the regex serializer's) of the same form.
func TestSameCellsAsFlume(t *testing.T) {
	h := needHBase(t)
	for _, side := range []string{"flume", "sluice"} {
		for _, c := range flumeCases {
			if err := h.CreateTable(side+"_"+c.name, "cf"); err != nil {
				t.Fatal(err)
			}
		}
	}
	var lines []string
	for i := range 120 {
		level := []string{"INFO", "warn", "Error", "Warn"}[i%4]
		lines = append(lines, fmt.Sprintf("id%03d %s message %d: a=b, c", i, level, i))
	}
	lines = append(lines, "short", "x y", "ünïcode warn ünïcödé ✓")

	fport, sport := peers.FreePort(t), peers.FreePort(t)
	faddr, saddr := "127.0.0.1:"+strconv.Itoa(fport), "127.0.0.1:"+strconv.Itoa(sport)
	peers.StartFlume(t, peers.FlumeOptions{Peer: "flume-hbase", Conf: comparisonConf(fport, "flume", h.ZK()),
		ReadyAddr: faddr, JVMFlags: peers.FastStartFlags})
	agenttest.Run(t, comparisonConf(sport, "sluice", h.ZK()), sluicetest.Logger())
	agenttest.NetcatSend(t, faddr, lines)
	agenttest.NetcatSend(t, saddr, lines)

	// 123 lines: the simple serializers write each (and count them), the
	// regex ones the 91 whose level is info/warn in any case (regex_key)
	// and the 121 with two spaces (regex_generated).
	for _, c := range flumeCases {
		var f, s []string
		agenttest.WaitUntil(t, fmt.Sprintf("%d rows of %s on both sides", c.rows, c.name), 3*time.Minute, func() bool {
			if c.incRow != "" && (counter(t, "flume_"+c.name, c.incRow, c.incCol) < int64(len(lines)) ||
				counter(t, "sluice_"+c.name, c.incRow, c.incCol) < int64(len(lines))) {
				return false
			}
			f, s = cellSets(t, "flume_"+c.name, c.key), cellSets(t, "sluice_"+c.name, c.key)
			return len(f) >= c.rows && len(s) >= c.rows
		})
		if strings.Join(f, "\n") != strings.Join(s, "\n") || len(f) != c.rows {
			t.Errorf("%s: Flume wrote %d rows, Sluice %d (want %d); first difference:\n%s", c.name, len(f), len(s), c.rows, firstDiff(f, s))
		} else {
			t.Logf("%s: %d rows, same cells (e.g. %s)", c.name, len(f), f[len(f)/2])
		}
	}
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("flume:  %s\nsluice: %s", a[i], b[i])
		}
	}
	return fmt.Sprintf("one is a prefix of the other (%d vs %d)", len(a), len(b))
}
