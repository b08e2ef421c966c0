// Package budget bounds the bytes a network source holds for requests it is
// still reading and decoding (inflated size included), so that many
// connections sending large frames, or stalling in the middle of them, or a
// small compressed request that inflates to a large one, cannot take the
// process's memory: past the budget a request waits for room, and is
// refused when none comes in time.
package budget

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"sync"
	"time"
)

// Default is the budget used when none is configured: a quarter of the
// Go memory limit (GOMEMLIMIT) when one is set, else 256 MiB — room for
// four frames of the default 64 MiB limit.
func Default() int64 {
	// Only a limit the user set counts: without GOMEMLIMIT the runtime's
	// limit is internal/gctune's moving heap target (tens of MiB), which
	// would refuse ordinary frames.
	if os.Getenv("GOMEMLIMIT") == "" {
		return 256 << 20
	}
	if lim := debug.SetMemoryLimit(-1); lim > 0 && lim < math.MaxInt64 {
		return max(lim/4, 1<<20)
	}
	return 256 << 20
}

// ExceededError says a request could not get the bytes it needed.
type ExceededError struct {
	Want, Used, Limit int64
	Waited            time.Duration
}

func (e *ExceededError) Error() string {
	if e.Want > e.Limit {
		return fmt.Sprintf("a request needs %d bytes, more than the whole budget of bytes in flight (%d)", e.Want, e.Limit)
	}
	return fmt.Sprintf("bytes in flight at their limit (%d of %d in use; %d more needed) for %v", e.Used, e.Limit, e.Want, e.Waited)
}

// Budget is a count of bytes shared by the connections of a source. It is
// safe for concurrent use. A nil *Budget has no limit.
type Budget struct {
	mu    sync.Mutex
	limit int64
	used  int64
	freed chan struct{} // closed (and replaced) when bytes are released
	peak  int64
}

// New is a budget of limit bytes.
func New(limit int64) *Budget {
	return &Budget{limit: limit, freed: make(chan struct{})}
}

// Configured is the budget for a source's max-bytes-in-flight property:
// limit bytes, or Default when it is 0 (unset).
func Configured(limit int64) *Budget {
	if limit == 0 {
		limit = Default()
	}
	return New(limit)
}

// Limit is the budget's size.
func (b *Budget) Limit() int64 { return b.limit }

// Acquire takes n bytes, waiting up to wait for others to release them.
// It fails at once when n alone is more than the limit.
func (b *Budget) Acquire(n int64, wait time.Duration) error {
	if b == nil || n <= 0 {
		return nil
	}
	var deadline <-chan time.Time
	start := time.Now()
	for {
		b.mu.Lock()
		if b.used+n <= b.limit {
			b.used += n
			b.peak = max(b.peak, b.used)
			b.mu.Unlock()
			return nil
		}
		if n > b.limit {
			b.mu.Unlock()
			return &ExceededError{Want: n, Used: b.used, Limit: b.limit}
		}
		freed, used := b.freed, b.used
		b.mu.Unlock()
		if deadline == nil {
			t := time.NewTimer(wait)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-freed:
		case <-deadline:
			return &ExceededError{Want: n, Used: used, Limit: b.limit, Waited: time.Since(start).Round(time.Millisecond)}
		}
	}
}

// Release gives n bytes back.
func (b *Budget) Release(n int64) {
	if b == nil || n <= 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	if b.used < 0 {
		b.used = 0 // a bug in a caller; never let it grow the budget
	}
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// Used is the bytes held now; Peak the most ever held at once.
func (b *Budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Peak is the most bytes ever held at once.
func (b *Budget) Peak() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.peak
}
