package peers

import (
	"bytes"
	"strings"
	"testing"
)

// TestHBaseTablesScanAndRestart checks the peer's own controls: tables made
// at start and later, cells written and read back with HBase's Java client
// (binary bytes intact), a clear error for a missing table, and a restart
// that keeps the data (on the same ports).
func TestHBaseTablesScanAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: needs HBase (Java); run without -short")
	}
	h := StartHBase(t, HBaseOptions{Fast: true, Tables: map[string][]string{"t1": {"cf1", "cf2"}}})
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
	if _, err := h.Scan("missing"); err == nil || !strings.Contains(err.Error(), "TableNotFoundException") {
		t.Fatalf("scan of a missing table: %v", err)
	}
	// The launcher exits when it cannot bind the same ZooKeeper port again.
	h.Restart()
	check("after restart")
	if err := h.DropTable("t2"); err != nil {
		t.Fatal(err)
	}
	if tables, _ := h.Tables(); strings.Join(tables, ",") != HBaseProbeTable+",t1" {
		t.Fatalf("tables after drop = %v", tables)
	}
}
