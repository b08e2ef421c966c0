package gctune

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

// waitLimit collects until the tuner's limit satisfies ok (the cleanup that
// adjusts it runs on its own goroutine, shortly after a collection).
func waitLimit(t *testing.T, tu *Tuner, ok func(int64) bool) int64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
		if l := tu.Limit(); ok(l) && debug.SetMemoryLimit(-1) == l {
			return l
		}
	}
	t.Fatalf("limit stuck at %d (runtime's: %d)", tu.Limit(), debug.SetMemoryLimit(-1))
	return 0
}

func TestLimitFollowsTheLiveHeap(t *testing.T) {
	const floor = 24 << 20
	tu := Start(floor, noEnv)
	if tu == nil {
		t.Fatal("tuner did not start with GOGC and GOMEMLIMIT unset")
	}
	defer tu.Stop()
	if p := debug.SetGCPercent(gcPercent); p != gcPercent {
		t.Fatalf("GOGC is %d while tuning, want %d", p, gcPercent)
	}
	waitLimit(t, tu, func(l int64) bool { return l == floor })

	// 64 MiB live: the limit must leave as much again for new garbage.
	live := make([][]byte, 64)
	for i := range live {
		live[i] = make([]byte, 1<<20)
		live[i][0] = 1
	}
	l := waitLimit(t, tu, func(l int64) bool { return l >= 128<<20 })
	if l > 160<<20 {
		t.Fatalf("limit %d MiB with 64 MiB live: far more than twice", l>>20)
	}
	runtime.KeepAlive(live)
	live = nil

	// Once the heap is small again the limit comes back to the floor.
	waitLimit(t, tu, func(l int64) bool { return l == floor })
}

func TestStopRestoresGoDefaults(t *testing.T) {
	tu := Start(24<<20, noEnv)
	tu.Stop()
	if p := debug.SetGCPercent(100); p != 100 {
		t.Fatalf("GOGC %d after Stop, want 100", p)
	}
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		t.Fatalf("memory limit %d after Stop, want none", l)
	}
}

func TestUserSettingsWin(t *testing.T) {
	for _, name := range []string{"GOGC", "GOMEMLIMIT"} {
		env := func(k string) string {
			if k == name {
				return "200"
			}
			return ""
		}
		if tu := Start(24<<20, env); tu != nil {
			tu.Stop()
			t.Fatalf("tuner started although %s is set", name)
		}
		if p := debug.SetGCPercent(100); p != 100 {
			t.Fatalf("%s set: GOGC changed to %d", name, p)
		}
	}
}
