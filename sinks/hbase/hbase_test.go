package hbase

import (
	"context"
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

// simpleRows checks a table the simple serializer wrote: every row but
// incRow has exactly one cell, cf:<payloadCol>, its key matches key; it
// returns the values by row key and the counter incRow:cf:<incCol>.
func simpleRows(t *testing.T, table, payloadCol, incRow, incCol string, key *regexp.Regexp) (map[string]string, int64) {
	t.Helper()
	rows := map[string]string{}
	var inc int64 = -1
	for _, c := range scan(t, table) {
		if string(c.Family) != "cf" {
			t.Fatalf("cell of another family: %v", c)
		}
		if string(c.Row) == incRow {
			n, ok := c.Int64()
			if string(c.Qualifier) != incCol || !ok {
				t.Fatalf("counter row holds %v", c)
			}
			inc = n
			continue
		}
		if string(c.Qualifier) != payloadCol || !key.Match(c.Row) {
			t.Fatalf("row written as Flume's simple serializer does not: %v (key %s)", c, key)
		}
		if _, dup := rows[string(c.Row)]; dup {
			t.Fatalf("two cells in row %q", c.Row)
		}
		rows[string(c.Row)] = string(c.Value)
	}
	return rows, inc
}

func sortedValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// TestNetcatHBaseExample runs examples/netcat-hbase.conf (port, quorum and
// table pointed at the test's): every line becomes one row line-<uuid>
// with d:line, and counters:d:lines counts them.
func TestNetcatHBaseExample(t *testing.T) {
	h := needHBase(t)
	table := fmt.Sprintf("t_example_%d", tableSeq.Add(1))
	if err := h.CreateTable(table, "d"); err != nil {
		t.Fatal(err)
	}
	port := peers.FreePort(t)
	text := agenttest.SetProps(agenttest.Example(t, "netcat-hbase.conf"),
		"a1.sources.r1.port", strconv.Itoa(port),
		"a1.sources.r1.bind", "127.0.0.1",
		"a1.sinks.k1.zookeeperQuorum", h.ZK(),
		"a1.sinks.k1.table", table)
	agenttest.Run(t, text, sluicetest.Logger())
	lines := numbered("example line ", 700)
	agenttest.NetcatSend(t, "127.0.0.1:"+strconv.Itoa(port), lines)
	key := regexp.MustCompile(`^line-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	var got []string
	var n int64
	agenttest.WaitUntil(t, "700 rows and the counter at 700", 2*time.Minute, func() bool {
		rows := map[string]string{}
		n = -1
		for _, c := range scan(t, table) {
			switch {
			case string(c.Row) == "counters" && string(c.Family) == "d" && string(c.Qualifier) == "lines":
				n, _ = c.Int64()
			case key.Match(c.Row) && string(c.Family) == "d" && string(c.Qualifier) == "line":
				rows[string(c.Row)] = string(c.Value)
			default:
				t.Fatalf("unexpected cell %v", c)
			}
		}
		got = sortedValues(rows)
		return len(got) >= 700 && n >= 700
	})
	if strings.Join(got, "\n") != strings.Join(lines, "\n") || n != 700 {
		t.Errorf("rows %d (first %q), counter %d", len(got), got[:3], n)
	}
}

// Each suffix of the simple serializer gives Flume's row keys:
// rowPrefix + UUID / signed random long / millis / System.nanoTime.
func TestSimpleSerializerSuffixes(t *testing.T) {
	needHBase(t)
	const n = 300
	for _, suffix := range []string{"uuid", "random", "timestamp", "nano"} {
		t.Run(suffix, func(t *testing.T) {
			table := newTable(t, "cf")
			before := time.Now().UnixMilli()
			addr, _ := pipeline(t, table, "serializer = "+simpleHBase2, "serializer.rowPrefix = r-",
				"serializer.suffix = "+suffix, "batchSize = 100")
			lines := numbered(suffix+" ", n)
			agenttest.NetcatSend(t, addr, lines)
			key := map[string]*regexp.Regexp{
				"uuid":      regexp.MustCompile(`^r-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`),
				"random":    regexp.MustCompile(`^r--?[0-9]{1,19}$`),
				"timestamp": regexp.MustCompile(`^r-([0-9]{13})$`),
				"nano":      regexp.MustCompile(`^r-[0-9]+$`),
			}[suffix]
			var rows map[string]string
			var inc int64
			// A batch's Puts and Increments go out together: wait for both.
			agenttest.WaitUntil(t, "the counter at 300 (and 300 rows but with the timestamp suffix)", 2*time.Minute, func() bool {
				rows, inc = simpleRows(t, table, "pCol", "incRow", "iCol", key)
				return inc >= n && (len(rows) >= n || suffix == "timestamp")
			})
			after := time.Now().UnixMilli()
			if inc != n {
				t.Errorf("incRow:cf:iCol = %d, want %d", inc, n)
			}
			if suffix == "timestamp" {
				// Events of one millisecond share a row (as in Flume): each
				// row holds one of the lines, its key a time of the run.
				want := map[string]bool{}
				for _, l := range lines {
					want[l] = true
				}
				for k, v := range rows {
					ms, _ := strconv.ParseInt(key.FindStringSubmatch(k)[1], 10, 64)
					if !want[v] || ms < before || ms > after {
						t.Errorf("row %q = %q", k, v)
					}
				}
				t.Logf("timestamp suffix: %d lines made %d rows", n, len(rows))
				return
			}
			if got := sortedValues(rows); strings.Join(got, "\n") != strings.Join(lines, "\n") {
				t.Errorf("%d rows; values differ from the lines sent", len(got))
			}
		})
	}
}

// The regex serializer with a row key group and headers deposited: each
// matching line is one row <key> with cf:level, cf:msg and a column per
// header; lines that do not match are not written.
func TestRegexSerializerRowKeyIndexDepositHeaders(t *testing.T) {
	needHBase(t)
	table := newTable(t, "cf")
	addr, _ := pipeline(t, table, "serializer = "+regexHBase2, `serializer.regex = ([^ ]+) ([A-Z]+) (.*)`,
		"serializer.colNames = ROW_KEY,level,msg", "serializer.rowKeyIndex = 0", "serializer.depositHeaders = true")
	// The source's static interceptor adds a header.
	var lines []string
	for i := range 200 {
		lines = append(lines, fmt.Sprintf("key%04d %s message %d with spaces", i, []string{"INFO", "WARN"}[i%2], i))
	}
	lines = append(lines, "no-match")
	agenttest.NetcatSend(t, addr, lines)
	var rows map[string]map[string][]byte
	agenttest.WaitUntil(t, "200 rows", 2*time.Minute, func() bool {
		var err error
		rows, err = hb.Rows(table)
		if err != nil {
			t.Fatal(err)
		}
		return len(rows) >= 200
	})
	// The no-match line comes last in the same stream: give it no chance to
	// sneak in later by checking after the rows are there.
	if len(rows) != 200 {
		t.Fatalf("%d rows", len(rows))
	}
	for i := range 200 {
		r := rows[fmt.Sprintf("key%04d", i)]
		want := map[string]string{"cf:level": []string{"INFO", "WARN"}[i%2], "cf:msg": fmt.Sprintf("message %d with spaces", i), "cf:src": "netcat"}
		if len(r) != len(want) {
			t.Fatalf("row key%04d: %q", i, r)
		}
		for k, v := range want {
			if string(r[k]) != v {
				t.Fatalf("row key%04d: %s = %q, want %q", i, k, r[k], v)
			}
		}
	}
}

// Without rowKeyIndex, the row key is <millis>-<10 letters/digits>-<nonce>
// with one random part per process and consecutive nonces, and the default
// regex (.*) puts the whole body in cf:payload.
func TestRegexSerializerGeneratedKeys(t *testing.T) {
	needHBase(t)
	table := newTable(t, "cf")
	before := time.Now().UnixMilli()
	addr, _ := pipeline(t, table, "serializer = "+regexHBase)
	lines := numbered("generated ", 250)
	agenttest.NetcatSend(t, addr, lines)
	var rows map[string]map[string][]byte
	agenttest.WaitUntil(t, "250 rows", 2*time.Minute, func() bool {
		var err error
		rows, err = hb.Rows(table)
		if err != nil {
			t.Fatal(err)
		}
		return len(rows) >= 250
	})
	key := regexp.MustCompile(`^([0-9]{13})-([A-Za-z0-9]{10})-([0-9]+)$`)
	var nonces []int
	var values []string
	for k, r := range rows {
		m := key.FindStringSubmatch(k)
		if m == nil || m[2] != processKey || len(r) != 1 || r["cf:payload"] == nil {
			t.Fatalf("row %q: %q", k, r)
		}
		ms, _ := strconv.ParseInt(m[1], 10, 64)
		if ms < before || ms > time.Now().UnixMilli() {
			t.Fatalf("row %q: time", k)
		}
		n, _ := strconv.Atoi(m[3])
		nonces = append(nonces, n)
		values = append(values, string(r["cf:payload"]))
	}
	sort.Ints(nonces)
	sort.Strings(values)
	if nonces[len(nonces)-1]-nonces[0] != len(nonces)-1 {
		t.Errorf("nonces not consecutive: %d..%d for %d rows", nonces[0], nonces[len(nonces)-1], len(nonces))
	}
	if strings.Join(values, "\n") != strings.Join(lines, "\n") {
		t.Errorf("payloads differ from the lines")
	}
}

// Increments: one per event, coalesced or not, the counter ends at the
// number of events, beside one row per event.
func TestIncrementsAndCoalesce(t *testing.T) {
	needHBase(t)
	for _, coalesce := range []string{"false", "true"} {
		t.Run("coalesce="+coalesce, func(t *testing.T) {
			table := newTable(t, "cf")
			addr, _ := pipeline(t, table, "coalesceIncrements = "+coalesce,
				"serializer.incrementRow = hits", "serializer.incrementColumn = total", "batchSize = 200")
			agenttest.NetcatSend(t, addr, numbered("inc ", 1000))
			var rows map[string]string
			var n int64
			agenttest.WaitUntil(t, "the counter at 1000", 2*time.Minute, func() bool {
				rows, n = simpleRows(t, table, "pCol", "hits", "total", regexp.MustCompile(`^default[0-9a-f-]{36}$`))
				return n >= 1000 && len(rows) >= 1000
			})
			if n != 1000 || len(rows) != 1000 {
				t.Errorf("hits:cf:total = %d, %d rows", n, len(rows))
			}
		})
	}
}

// A table or column family that does not exist stops the start with an
// error naming it (Flume's HBase2Sink fails its start too).
func TestMissingTableOrFamilyFailsStart(t *testing.T) {
	h := needHBase(t)
	table := newTable(t, "cf")
	for _, c := range []struct {
		table, family, want string
	}{
		{"no_such_table", "cf", `table "no_such_table" does not exist (zookeeperQuorum "` + h.ZK() + `"`},
		{table, "nofam", fmt.Sprintf(`table %q has no column family "nofam" (zookeeperQuorum %q)`, table, h.ZK())},
	} {
		s := newSink(t, "table = "+c.table, "columnFamily = "+c.family, "zookeeperQuorum = "+h.ZK())
		err := s.Start(context.Background())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Start: %v, want %q in it", err, c.want)
		}
		if s.c.ConnectionFailed.Load() != 1 || s.c.ConnectionCreated.Load() != 0 {
			t.Errorf("ConnectionFailed %d, ConnectionCreated %d", s.c.ConnectionFailed.Load(), s.c.ConnectionCreated.Load())
		}
		_ = s.Stop(context.Background())
		if s.c.ConnectionClosed.Load() != 0 {
			t.Errorf("ConnectionClosed %d after a failed start", s.c.ConnectionClosed.Load())
		}
	}
	// And the table that exists starts.
	s := newSink(t, "table = "+table, "zookeeperQuorum = "+h.ZK())
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = s.Stop(context.Background())
}

// HBase killed mid-stream and started again: every line sent is in the
// table afterwards (a line twice only if HBase applied a mutation it had
// not acknowledged), and the outage is logged.
func TestHBaseKilledMidStreamLosesNothing(t *testing.T) {
	h := needHBase(t)
	table := newTable(t, "cf")
	addr, log := pipeline(t, table, "batchSize = 100", "timeout = 10000")
	const chunks, per = 20, 100
	var lines []string
	send := func(from, to int) {
		for i := from; i < to; i++ {
			chunk := numbered(fmt.Sprintf("c%02d-", i), per)
			agenttest.NetcatSend(t, addr, chunk)
			lines = append(lines, chunk...)
		}
	}
	// Some chunks in, HBase killed while the sink is at work, more chunks
	// arrive into the channel while it is away, then it comes back.
	send(0, 5)
	agenttest.WaitUntil(t, "some rows before the kill", time.Minute, func() bool { return len(scan(t, table)) > 0 })
	if err := h.Kill(); err != nil {
		t.Fatal(err)
	}
	send(5, 15)
	agenttest.WaitUntil(t, "the sink to report the outage", time.Minute, func() bool { return len(log.Lines("mutations failed")) > 0 })
	if err := h.Restart(); err != nil {
		t.Fatalf("restart HBase: %v\n%s", err, h.LogTail())
	}
	send(15, chunks)
	var rows map[string]string
	var inc int64
	agenttest.WaitUntil(t, "every line in the table and counted", 3*time.Minute, func() bool {
		rows, inc = simpleRows(t, table, "pCol", "incRow", "iCol", regexp.MustCompile(`^default`))
		seen := map[string]bool{}
		for _, v := range rows {
			seen[v] = true
		}
		return len(seen) == len(lines) && inc >= int64(len(lines))
	})
	count := map[string]int{}
	for _, v := range rows {
		count[v]++
	}
	dups, twice := 0, 0
	for _, l := range lines {
		if count[l] == 0 {
			t.Errorf("line %q lost", l)
		}
		if count[l] > 1 {
			twice++
			dups += count[l] - 1
		}
	}
	t.Logf("%d lines, %d rows: %d lines written more than once (%d extra rows), counter %d", len(lines), len(rows), twice, dups, inc)
	// Only the batch in flight when HBase died can be written again (one
	// sink, one batch at a time).
	if twice > 100 {
		t.Errorf("%d lines written more than once: more than the batch in flight (100)", twice)
	}
}
