package peers

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestHBase starts one HBase and checks the peer's own controls, then that
// Apache Flume 1.11's hbase2 sink (the flume-hbase peer) writes into it.
func TestHBase(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: needs HBase and Flume (Java); run without -short")
	}
	h := StartHBase(t, HBaseOptions{Fast: true, Tables: map[string][]string{"t1": {"cf1", "cf2"}}})

	// Tables made at start and later, cells written and read back with
	// HBase's Java client (binary bytes intact), a clear error for a missing
	// table, and a crash (SIGKILL) and restart that keep every acknowledged
	// cell (on the same ports: the launcher exits when it cannot bind the
	// ZooKeeper port again).
	t.Run("TablesScanRestart", func(t *testing.T) {
		if err := h.CreateTable("t2", "a"); err != nil {
			t.Fatal(err)
		}
		tables, err := h.Tables()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(tables, ",") != HBaseProbeTable+",t1,t2" {
			t.Fatalf("tables = %v", tables)
		}
		bin := []byte{0, 0xff, '\t', '\n', 'x'}
		counter := []byte{0, 0, 0, 0, 0, 0, 0, 7}
		if err := h.Put("t1", []byte("r1"), []byte("cf1"), []byte("q"), bin); err != nil {
			t.Fatal(err)
		}
		if err := h.Put("t1", []byte("r0"), []byte("cf2"), []byte("n"), counter); err != nil {
			t.Fatal(err)
		}
		check := func(when string) {
			t.Helper()
			cells, err := h.Scan("t1")
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if len(cells) != 2 || string(cells[0].Row) != "r0" || string(cells[1].Row) != "r1" {
				t.Fatalf("%s: scan t1 = %v", when, cells)
			}
			if n, ok := cells[0].Int64(); !ok || n != 7 || string(cells[0].Family) != "cf2" || string(cells[0].Qualifier) != "n" {
				t.Fatalf("%s: counter cell = %v", when, cells[0])
			}
			if !bytes.Equal(cells[1].Value, bin) || cells[1].Timestamp <= 0 {
				t.Fatalf("%s: binary cell = %v (ts %d)", when, cells[1], cells[1].Timestamp)
			}
		}
		check("before restart")
		dump, err := h.Dump("t1")
		if want := "r0\tcf2:n\t\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x07\nr1\tcf1:q\t\\x00\\xFF\\x09\\x0Ax\n"; err != nil || dump != want {
			t.Fatalf("dump t1 = %q, %v; want %q", dump, err, want)
		}
		if _, err := h.Scan("missing"); err == nil || !strings.Contains(err.Error(), "TableNotFoundException") {
			t.Fatalf("scan of a missing table: %v", err)
		}
		h.Kill()
		if h.Running() {
			t.Fatal("still running after Kill")
		}
		h.Restart()
		check("after kill and restart")
		// The RegionServer alone crashes and comes back (ZooKeeper and the
		// master stay up): a cell written just before (in its WAL only) and
		// the older ones are there, and new writes work.
		if err := h.Put("t2", []byte("r1"), []byte("a"), []byte("q"), []byte("before")); err != nil {
			t.Fatal(err)
		}
		if err := h.StopRegionServer(); err != nil {
			t.Fatal(err)
		}
		if err := h.StartRegionServer(); err != nil {
			t.Fatal(err)
		}
		check("after a RegionServer crash")
		if err := h.Put("t2", []byte("r2"), []byte("a"), []byte("q"), []byte("after")); err != nil {
			t.Fatal(err)
		}
		if rows, err := h.Rows("t2"); err != nil || len(rows) != 2 || string(rows["r1"]["a:q"]) != "before" || string(rows["r2"]["a:q"]) != "after" {
			t.Fatalf("t2 after the RegionServer's restart: %q, %v", rows, err)
		}
		if err := h.DropTable("t2"); err != nil {
			t.Fatal(err)
		}
		if tables, _ := h.Tables(); strings.Join(tables, ",") != HBaseProbeTable+",t1" {
			t.Fatalf("tables after drop = %v", tables)
		}
	})

	// netcat -> memory -> hbase2 with SimpleHBase2EventSerializer: one row
	// per event (rowPrefix + a UUID, payload in f:pCol) and the counter
	// incRow f:iCol incremented once per event.
	t.Run("FlumeHBase2Sink", func(t *testing.T) {
		if err := h.CreateTable("flume_t", "f"); err != nil {
			t.Fatal(err)
		}
		port := FreePort(t)
		conf := fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = %d
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = hbase2
a1.sinks.k1.channel = c1
a1.sinks.k1.table = flume_t
a1.sinks.k1.columnFamily = f
a1.sinks.k1.zookeeperQuorum = %s
a1.sinks.k1.serializer = org.apache.flume.sink.hbase2.SimpleHBase2EventSerializer
a1.sinks.k1.serializer.rowPrefix = flume-
`, port, h.ZK())
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		StartFlume(t, FlumeOptions{Peer: "flume-hbase", Conf: conf, ReadyAddr: addr, JVMFlags: FastStartFlags})
		var want []string
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for i := range 20 {
			body := fmt.Sprintf("event %02d", i)
			want = append(want, body)
			if _, err := fmt.Fprintf(c, "%s\n", body); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(time.Minute))
			if ack, err := r.ReadString('\n'); err != nil || ack != "OK\n" {
				t.Fatalf("netcat ack for %q: %q, %v", body, ack, err)
			}
		}
		var rows map[string]map[string][]byte
		waitFor(t, "20 rows and the counter from Flume's hbase2 sink", func() bool {
			rows, err = h.Rows("flume_t")
			if err != nil {
				t.Fatal(err)
			}
			// The sink writes a batch's Puts, then its Increments.
			n, _ := HBaseCell{Value: rows["incRow"]["f:iCol"]}.Int64()
			return len(rows) >= 21 && n >= 20
		})
		uuidKey := regexp.MustCompile(`^flume-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
		var got []string
		for key, cols := range rows {
			if key == "incRow" {
				if n, _ := (HBaseCell{Value: cols["f:iCol"]}).Int64(); n != 20 || len(cols) != 1 {
					t.Errorf("incRow = %q, want f:iCol = 20", cols)
				}
				continue
			}
			if !uuidKey.MatchString(key) || len(cols) != 1 {
				t.Errorf("row %q = %q, want key flume-<uuid> and one column f:pCol", key, cols)
			}
			got = append(got, string(cols["f:pCol"]))
		}
		sort.Strings(got)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("payloads = %q, want %q", got, want)
		}
	})
}

func TestParseJavaMajor(t *testing.T) {
	for out, want := range map[string]int{
		"openjdk version \"17.0.15\" 2025-04-15\nOpenJDK Runtime Environment": 17,
		"openjdk version \"25\" 2025-09-16 LTS":                               25,
		"java version \"1.8.0_292\"":                                          8,
		"openjdk version \"21-ea\" 2023-09-19":                                21,
	} {
		if got, ok := parseJavaMajor([]byte(out)); !ok || got != want {
			t.Errorf("parseJavaMajor(%q) = %d, %v; want %d", out, got, ok, want)
		}
	}
	if _, ok := parseJavaMajor([]byte("no java here")); ok {
		t.Error("parseJavaMajor found a version in text without one")
	}
}
