package budget

import (
	"errors"
	"math"
	"runtime/debug"
	"testing"
	"time"
)

func TestAcquireWaitsForRelease(t *testing.T) {
	b := New(100)
	if err := b.Acquire(60, 0); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- b.Acquire(60, time.Minute) }()
	select {
	case err := <-got:
		t.Fatalf("acquired past the limit: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	b.Release(60)
	if err := <-got; err != nil {
		t.Fatalf("after the release: %v", err)
	}
	if b.Used() != 60 || b.Peak() != 60 {
		t.Fatalf("used %d peak %d, want 60 60", b.Used(), b.Peak())
	}
}

func TestAcquireGivesUp(t *testing.T) {
	b := New(100)
	b.Acquire(90, 0)
	err := b.Acquire(20, 20*time.Millisecond)
	var ex *ExceededError
	if !errors.As(err, &ex) || ex.Want != 20 || ex.Used != 90 || ex.Limit != 100 {
		t.Fatalf("got %v, want an ExceededError for 20 with 90 of 100 used", err)
	}
	if b.Used() != 90 {
		t.Fatalf("a refused acquire changed the count: %d", b.Used())
	}
}

func TestMoreThanTheLimitFailsAtOnce(t *testing.T) {
	b := New(100)
	start := time.Now()
	err := b.Acquire(101, time.Minute)
	var ex *ExceededError
	if !errors.As(err, &ex) || time.Since(start) > 10*time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
}

func TestNilHasNoLimit(t *testing.T) {
	var b *Budget
	if err := b.Acquire(1<<40, 0); err != nil {
		t.Fatal(err)
	}
	b.Release(1 << 40)
}

func TestDefaultFollowsTheMemoryLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "400MiB")
	old := debug.SetMemoryLimit(400 << 20)
	defer debug.SetMemoryLimit(old)
	if d := Default(); d != 100<<20 {
		t.Fatalf("with GOMEMLIMIT 400 MiB the default is %d, want 100 MiB", d)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	if d := Default(); d != 256<<20 {
		t.Fatalf("without a memory limit the default is %d, want 256 MiB", d)
	}
}

// TestDefaultIgnoresTheCollectorsOwnLimit: without GOMEMLIMIT the runtime's
// limit is internal/gctune's heap target, which must not shrink the budget
// (it made the HTTP source refuse a 20 MB body with an 8 MiB budget).
func TestDefaultIgnoresTheCollectorsOwnLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	old := debug.SetMemoryLimit(32 << 20)
	defer debug.SetMemoryLimit(old)
	if d := Default(); d != 256<<20 {
		t.Fatalf("with only the collector's 32 MiB limit the default is %d, want 256 MiB", d)
	}
}
