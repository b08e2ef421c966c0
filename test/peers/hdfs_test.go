package peers

import (
	"strings"
	"testing"
)

// TestHDFSShellDataNodeAndRestart checks the peer's own controls: FsShell in
// the peer's JVM, the DataNode stopped and started, and a restart of the
// whole cluster that keeps the data.
func TestHDFSShellDataNodeAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: needs HDFS (Java); run without -short")
	}
	h := StartHDFS(t, HDFSOptions{Fast: true})
	if _, err := h.Shell("-mkdir", "-p", "/t/a"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Shell("-touchz", "/t/a/empty"); err != nil {
		t.Fatal(err)
	}
	es, err := h.Ls("/t", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[1].Path != "/t/a/empty" || es[1].Dir || !es[0].Dir {
		t.Fatalf("ls -R /t = %+v", es)
	}
	if _, err := h.Cat("/t/missing"); err == nil || !strings.Contains(err.Error(), "No such file") {
		t.Fatalf("cat of a missing file: %v", err)
	}
	if err := h.StopDataNode(); err != nil {
		t.Fatal(err)
	}
	if err := h.StartDataNode(); err != nil {
		t.Fatal(err)
	}
	h.Restart()
	if es, err := h.Ls("/t/a", false); err != nil || len(es) != 1 {
		t.Fatalf("after restart: ls /t/a = %+v, %v", es, err)
	}
}
