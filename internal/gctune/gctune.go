// Package gctune sets how the agent's garbage collector paces itself.
//
// Go's default (GOGC=100) collects whenever the heap has doubled since the
// last collection. An agent's live heap is small (a few batches and the
// channels' events) while it allocates at hundreds of MB/s, so with the
// default the collector runs a hundred times a second and takes a third of
// the CPU, most of it in write barriers that are on while it marks. The
// tuner lets the heap grow to a floor first, and above the floor collects
// as GOGC=100 would: the memory limit is set, after every collection, to
// the larger of the floor and twice the live heap (plus the runtime's own
// memory), and GOGC is raised to 1000 so that the limit paces the
// collector. A nearly idle agent (a live heap under a tenth of the floor)
// still collects at ten times its live heap, so it stays small, and Go's
// collection every two minutes still happens.
//
// A user who sets GOGC or GOMEMLIMIT gets exactly what they asked for: the
// tuner then does nothing.
package gctune

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// DefaultFloor is the memory the process may use before the collector
// works hard. It costs at most this much RSS under load; spooldir → memory
// → null streamed 1.6x as fast with it as with GOGC=100, at the same peak
// RSS (38 MB; 24 MiB gave no gain, 48 MiB 10 % more at 53 MB).
const DefaultFloor = 32 << 20

// gcPercent is GOGC while tuning: high, so the memory limit decides.
const gcPercent = 1000

// Tuner adjusts the memory limit after each collection until Stop.
type Tuner struct {
	floor   uint64
	mu      sync.Mutex // adjust against Stop
	stopped bool
	samples []metrics.Sample
	limit   atomic.Int64
}

// sentinel is garbage the moment it is made; its cleanup runs after the
// collection that found it, which is when the tuner looks at the heap. It
// is larger than 16 bytes so the tiny allocator does not batch it with
// other objects.
type sentinel struct{ _ [32]byte }

var names = []string{
	"/gc/heap/live:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/free:bytes",
}

// Start takes over the collector's pacing unless the environment (as read
// by getenv) sets GOGC or GOMEMLIMIT; then it returns nil and changes
// nothing.
func Start(floor uint64, getenv func(string) string) *Tuner {
	if getenv == nil {
		getenv = os.Getenv
	}
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return nil
	}
	t := &Tuner{floor: floor}
	for _, n := range names {
		t.samples = append(t.samples, metrics.Sample{Name: n})
	}
	metrics.Read(t.samples)
	for _, s := range t.samples {
		if s.Value.Kind() != metrics.KindUint64 {
			return nil // a runtime without these metrics keeps Go's default
		}
	}
	t.set(int64(floor))
	debug.SetGCPercent(gcPercent)
	t.arm()
	return t
}

// Limit is the memory limit the tuner last set.
func (t *Tuner) Limit() int64 { return t.limit.Load() }

// Stop hands pacing back to Go's default (GOGC=100, no limit).
func (t *Tuner) Stop() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.stopped = true
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
}

func (t *Tuner) arm() {
	runtime.AddCleanup(new(sentinel), func(t *Tuner) { t.adjust() }, t)
}

// adjust runs after a collection: the heap's live size is known exactly.
func (t *Tuner) adjust() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	metrics.Read(t.samples)
	live := t.samples[0].Value.Uint64()
	total, released := t.samples[1].Value.Uint64(), t.samples[2].Value.Uint64()
	objects, free := t.samples[3].Value.Uint64(), t.samples[4].Value.Uint64()
	// What the limit counts beyond heap objects: stacks, the runtime's
	// metadata, fragmentation. objects may still hold garbage not swept
	// yet, so this errs low, never high.
	var other uint64
	if used := total - released; used > objects+free {
		other = used - objects - free
	}
	t.set(int64(max(t.floor, other+2*live)))
	t.arm()
}

func (t *Tuner) set(limit int64) {
	t.limit.Store(limit)
	debug.SetMemoryLimit(limit)
}
