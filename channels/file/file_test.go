package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

func TestRegistered(t *testing.T) {
	for _, name := range []string{"file", "FILE", "org.apache.flume.channel.file.FileChannel"} {
		spec, ok := sluice.Lookup(sluice.KindChannel, name)
		if !ok || spec.Name != "file" {
			t.Fatalf("Lookup(%q) = %v, %v", name, spec, ok)
		}
	}
	spec, _ := sluice.Lookup(sluice.KindChannel, "file")
	want := map[string]string{
		"checkpointDir": "~/.flume/file-channel/checkpoint", "dataDirs": "~/.flume/file-channel/data",
		"backupCheckpointDir": "", "useDualCheckpoints": "false",
		"capacity": "1000000", "transactionCapacity": "10000", "checkpointInterval": "30000",
		"maxFileSize": "2146435071", "minimumRequiredSpace": "524288000", "keep-alive": "3",
		"checkpointOnClose": "true", "use-fast-replay": "false", "fsyncPerTransaction": "true", "fsyncInterval": "5",
	}
	got := map[string]string{}
	for _, f := range conf.Fields(spec.Config()) {
		got[f.Key] = f.Default
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("default %s = %q, want %q (Flume's)", k, got[k], v)
		}
	}
	v, err := spec.New(sluicetest.Env("c1"), spec.Config())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := v.(sluice.Channel); !ok {
		t.Fatalf("New returned %T", v)
	}
}

func TestConfig(t *testing.T) {
	cases := []struct {
		name  string
		props map[string]string
		errs  []string
	}{
		{"defaults", nil, nil},
		{"several data dirs", map[string]string{"dataDirs": "/a/d1, /a/d2,/a/d3"}, nil},
		{"zero capacity", map[string]string{"capacity": "0", "transactionCapacity": "1"}, []string{`capacity (f.conf:3): "0" must be greater than 0`}},
		{"transaction larger than channel", map[string]string{"capacity": "10", "transactionCapacity": "11"}, []string{`"11" is larger than capacity 10`}},
		{"zero interval", map[string]string{"checkpointInterval": "0"}, []string{`checkpointInterval (f.conf:3): "0s" must be greater than 0`}},
		{"tiny maxFileSize", map[string]string{"maxFileSize": "1000"}, []string{`"1000" must be at least 65536 bytes`}},
		{"dual without backup", map[string]string{"useDualCheckpoints": "true"}, []string{"must be set when useDualCheckpoints is true"}},
		{"same dir twice", map[string]string{"checkpointDir": "/x/a", "dataDirs": "/x/b,/x/a/"}, []string{`"/x/a/" is also checkpointDir`}},
		{"backup equals checkpoint", map[string]string{"checkpointDir": "/x/a", "useDualCheckpoints": "true", "backupCheckpointDir": "/x/a"}, []string{"is also checkpointDir"}},
		{"encryption refused", map[string]string{"encryption.activeKey": "key-0", "encryption.cipherProvider": "AESCTRNOPADDING"}, []string{"encryption.activeKey (f.conf:3): log encryption is not supported"}},
		{"fsyncInterval zero without per-txn fsync", map[string]string{"fsyncPerTransaction": "false", "fsyncInterval": "0"}, []string{`"0s" must be greater than 0 when fsyncPerTransaction is false`}},
		{"ignored flags accepted", map[string]string{"use-fast-replay": "true", "use-log-replay-v1": "true", "compressBackupCheckpoint": "true"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			var ps []conf.Prop
			for k, v := range tc.props {
				ps = append(ps, conf.Prop{Key: k, FullKey: "a1.channels.c1." + k, Value: v, File: "f.conf", Line: 3})
			}
			var errs []string
			for _, e := range conf.Decode(cfg, ps) {
				if !e.Warning {
					errs = append(errs, e.Error())
				}
			}
			if len(errs) != len(tc.errs) {
				t.Fatalf("got errors %q, want %d", errs, len(tc.errs))
			}
			all := strings.Join(errs, "\n")
			for _, w := range tc.errs {
				if !strings.Contains(all, w) {
					t.Errorf("errors %q do not mention %q", all, w)
				}
			}
		})
	}
	cfg := DefaultConfig()
	conf.Decode(cfg, []conf.Prop{{Key: "dataDirs", Value: "/a/d1, /a/d2,/a/d3"}})
	if !slices.Equal(cfg.DataDirs, []string{"/a/d1", "/a/d2", "/a/d3"}) {
		t.Errorf("dataDirs decoded as %q", cfg.DataDirs)
	}
}

func TestNewTouchesNoFile(t *testing.T) {
	root := t.TempDir()
	if _, _, _, err := build(t, dirProps(root, nil)); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 0 {
		t.Fatalf("New created %d entries in %s", len(ents), root)
	}
}

func TestPutsVisibleOnlyAfterCommit(t *testing.T) {
	c := openChan(t, nil)
	tx := c.Begin()
	if err := tx.Put(evs(0, 3)); err != nil {
		t.Fatal(err)
	}
	if got := takeN(t, c.Channel, 10); len(got) != 0 {
		t.Fatalf("uncommitted puts visible: %v", bodies(got))
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	got := takeN(t, c.Channel, 10)
	if !slices.Equal(bodies(got), wantBodies(0, 3)) {
		t.Fatalf("took %v", bodies(got))
	}
	if got[1].Headers["n"] != "1" {
		t.Errorf("headers lost: %v", got[1].Headers)
	}
}

// The queue survives a clean restart and a crash, with committed takes
// gone and uncommitted ones back at the head. The cache is off in half of
// the cases so takes read events back from the log.
func TestRestartKeepsQueue(t *testing.T) {
	for _, mode := range []string{"clean stop", "crash", "crash without cache"} {
		t.Run(mode, func(t *testing.T) {
			c := openChan(t, nil)
			if strings.Contains(mode, "without cache") {
				c.cacheLimit = 0
			}
			mustPut(t, c.Channel, evs(0, 50))
			mustPut(t, c.Channel, evs(50, 50))
			if got := takeN(t, c.Channel, 30); !slices.Equal(bodies(got), wantBodies(0, 30)) {
				t.Fatalf("took %v", bodies(got))
			}
			open := c.Begin() // taken, never committed
			got, err := open.Take(20)
			if err != nil || !slices.Equal(bodies(got), wantBodies(30, 20)) {
				t.Fatalf("took %v, %v", bodies(got), err)
			}
			var c2 *testChan
			if mode == "clean stop" {
				_ = open.Rollback()
				c2 = c.restart()
			} else {
				c.crash()
				c2 = openAt(t, c.root, nil)
			}
			if n := c2.Size(); n != 70 {
				t.Fatalf("size after restart %d, want 70", n)
			}
			all := drain(t, c2.Channel)
			if !slices.Equal(bodies(all), wantBodies(30, 70)) {
				t.Fatalf("after restart took %v", bodies(all))
			}
			if all[5].Headers["n"] != "35" {
				t.Errorf("headers after restart: %v", all[5].Headers)
			}
			c3 := c2.restart()
			if n := c3.Size(); n != 0 {
				t.Fatalf("taken events came back: size %d", n)
			}
		})
	}
}

func TestRollbackReturnsToHead(t *testing.T) {
	c := openChan(t, nil)
	mustPut(t, c.Channel, evs(0, 10))
	tx := c.Begin()
	if _, err := tx.Take(4); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := bodies(drain(t, c.Channel)); !slices.Equal(got, wantBodies(0, 10)) {
		t.Fatalf("after rollback took %v", got)
	}
}

func TestFullChannelPushesBack(t *testing.T) {
	c := openChan(t, map[string]string{"capacity": "10", "transactionCapacity": "10"})
	mustPut(t, c.Channel, evs(0, 8))
	tx := c.Begin()
	if _, err := tx.Take(2); err != nil { // in flight: still holds room
		t.Fatal(err)
	}
	err := put(c.Channel, evs(8, 3))
	if !errors.Is(err, sluice.ErrChannelFull) {
		t.Fatalf("put into a full channel: %v, want ErrChannelFull", err)
	}
	if !strings.Contains(err.Error(), "keep-alive 100ms") {
		t.Errorf("error does not say how long it waited: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	mustPut(t, c.Channel, evs(8, 3))
	// The refused batch was never logged: it does not come back.
	c2 := c.restart()
	if got := bodies(drain(t, c2.Channel)); !slices.Equal(got, append(wantBodies(2, 6), wantBodies(8, 3)...)) {
		t.Fatalf("after restart took %v", got)
	}
}

func TestFullChannelWaitsForRoom(t *testing.T) {
	c := openChan(t, map[string]string{"capacity": "5", "transactionCapacity": "5", "keep-alive": "1m"})
	mustPut(t, c.Channel, evs(0, 5))
	done := make(chan error, 1)
	go func() { done <- put(c.Channel, evs(5, 2)) }()
	takeN(t, c.Channel, 2)
	if err := <-done; err != nil {
		t.Fatalf("put waiting for room: %v", err)
	}
	if got := bodies(drain(t, c.Channel)); !slices.Equal(got, wantBodies(2, 5)) {
		t.Fatalf("took %v", got)
	}
}

func TestTransactionCapacity(t *testing.T) {
	c := openChan(t, map[string]string{"capacity": "100", "transactionCapacity": "5"})
	tx := c.Begin()
	if err := tx.Put(evs(0, 6)); !errors.Is(err, sluice.ErrTxnCapacity) {
		t.Fatalf("put of 6 into transactionCapacity 5: %v", err)
	}
	_ = tx.Rollback()
	mustPut(t, c.Channel, evs(0, 5))
	tx = c.Begin()
	if _, err := tx.Take(6); !errors.Is(err, sluice.ErrTxnCapacity) {
		t.Fatalf("take of 6: %v", err)
	}
	_ = tx.Rollback()
	if c.TransactionCapacity() != 5 || c.Capacity() != 100 {
		t.Errorf("TransactionCapacity %d, Capacity %d", c.TransactionCapacity(), c.Capacity())
	}
}

func TestLowDiskSpaceRefusesPutsAndResumes(t *testing.T) {
	c := openChan(t, map[string]string{"minimumRequiredSpace": "524288000"})
	var free uint64 = 100 << 20
	var probed []string
	c.setFreeSpace(func(dir string) (uint64, error) { probed = append(probed, dir); return free, nil })
	err := put(c.Channel, evs(0, 3))
	if !errors.Is(err, ErrDiskSpace) || !errors.Is(err, sluice.ErrChannelFull) {
		t.Fatalf("put with 100 MiB free: %v, want ErrDiskSpace", err)
	}
	dataDir := filepath.Join(c.root, "data")
	for _, want := range []string{dataDir, "100 MiB free", "minimumRequiredSpace (500 MiB)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if len(probed) == 0 || probed[0] != dataDir {
		t.Errorf("probed %v, want the data dir", probed)
	}
	free = 600 << 20
	mustPut(t, c.Channel, evs(0, 3))
	if got := bodies(drain(t, c.Channel)); !slices.Equal(got, wantBodies(0, 3)) {
		t.Fatalf("took %v", got)
	}
}

func TestSecondChannelOnSameDirsRefused(t *testing.T) {
	c := openChan(t, nil)
	other, _, _, err := build(t, dirProps(c.root, nil))
	if err != nil {
		t.Fatal(err)
	}
	err = other.Start(context.Background())
	if err == nil {
		_ = other.Stop(context.Background())
		t.Fatal("a second channel started on directories in use")
	}
	if !strings.Contains(err.Error(), filepath.Join(c.root, "checkpoint")) || !strings.Contains(err.Error(), "in use") {
		t.Errorf("error does not name the directory in use: %v", err)
	}
	// The first channel keeps working, and a refused start leaves no lock behind.
	mustPut(t, c.Channel, evs(0, 1))
	c2 := c.restart()
	if c2.Size() != 1 {
		t.Fatalf("size %d after restart", c2.Size())
	}
}

func TestCounters(t *testing.T) {
	c := openChan(t, nil)
	mustPut(t, c.Channel, evs(0, 7))
	takeN(t, c.Channel, 3)
	snap := c.cnt.Snapshot()
	want := map[string]string{
		"EventPutAttemptCount": "7", "EventPutSuccessCount": "7", "EventTakeSuccessCount": "3",
		"ChannelSize": "4", "ChannelCapacity": "1000000", "Open": "true", "Closed": "0", "Unhealthy": "0",
		"EventPutErrorCount": "0", "EventTakeErrorCount": "0", "CheckpointWriteErrorCount": "0", "CheckpointBackupWriteErrorCount": "0",
	}
	for k, v := range want {
		if snap[k] != v {
			t.Errorf("%s = %q, want %q", k, snap[k], v)
		}
	}
	_ = c.Stop(context.Background())
	if snap := c.cnt.Snapshot(); snap["Open"] != "false" || snap["Closed"] != "1" {
		t.Errorf("after stop Open=%s Closed=%s", snap["Open"], snap["Closed"])
	}
}

func TestLifecycle(t *testing.T) {
	c, _, _, err := build(t, dirProps(t.TempDir(), nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("stop before start: %v", err)
	}
	for i := 0; i < 2; i++ {
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		mustPut(t, c, evs(i, 1))
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Stop(ctx); err != nil {
			t.Fatalf("second stop: %v", err)
		}
	}
	if err := put(c, evs(9, 1)); !errors.Is(err, sluice.ErrClosed) {
		t.Fatalf("put after stop: %v", err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Stop(ctx)
	if n := c.Size(); n != 2 {
		t.Fatalf("size after stop/start twice: %d", n)
	}
	_ = fmt.Sprint()
}

func TestReadyClosedByPutCommit(t *testing.T) {
	c := openChan(t, map[string]string{"fsyncPerTransaction": "false", "fsyncInterval": "1"})
	ready := c.Ready()
	select {
	case <-ready:
		t.Fatal("Ready closed before any commit")
	default:
	}
	mustPut(t, c.Channel, evs(0, 2))
	<-ready // a commit of puts wakes waiting sinks
	if c.Ready() == ready {
		t.Fatal("Ready returned a closed channel again")
	}
	// Without an fsync per transaction, committed events still survive a
	// process crash (they were written before the commit returned).
	c.crash()
	c2 := openAt(t, c.root, c.props)
	if got := bodies(drain(t, c2.Channel)); !slices.Equal(got, wantBodies(0, 2)) {
		t.Fatalf("after crash took %v", got)
	}
}
