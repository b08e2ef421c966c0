// Package runloop is the lifecycle of a component that works on one
// goroutine of its own: start it, let it ask whether it should stop, wake
// it, and stop it within a deadline, cancelling the work in flight (a
// delivery to the channels) when the deadline passes.
package runloop

import (
	"context"
	"errors"
	"sync"
)

// ErrStarted is returned by Start on a loop that is already running.
var ErrStarted = errors.New("runloop: already started")

// Loop runs one goroutine at a time. The zero value is ready to use.
type Loop struct {
	mu      sync.Mutex
	running bool
	stop    chan struct{} // closed by Stop
	done    chan struct{} // closed when the goroutine returns
	ctx     context.Context
	cancel  context.CancelFunc
	wake    chan struct{} // one pending wake-up at most
}

// Start calls setup and, if it succeeds, runs run on a new goroutine. Both
// happen under the loop's lock, so a concurrent Start or Stop waits for
// setup. It returns ErrStarted (without calling setup) while running, and
// setup's error as is.
func (l *Loop) Start(setup func() error, run func()) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running {
		return ErrStarted
	}
	if l.done != nil {
		<-l.done // a Stop still waiting: the old goroutine must be gone first
	}
	if l.wake == nil {
		l.wake = make(chan struct{}, 1)
	}
	select {
	case <-l.wake: // a wake-up left from an earlier run
	default:
	}
	if setup != nil {
		if err := setup(); err != nil {
			return err
		}
	}
	l.running = true
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	l.ctx, l.cancel = context.WithCancel(context.Background())
	go func(done chan struct{}) {
		defer close(done)
		run()
	}(l.done)
	return nil
}

// Stop asks the goroutine to stop and waits for it to return. When ctx ends
// first, Context is cancelled (abandoning the work in flight), Stop still
// waits, and returns ctx's error. It reports whether the loop was running;
// a loop never started or already stopped is left alone.
func (l *Loop) Stop(ctx context.Context) (bool, error) {
	l.mu.Lock()
	if !l.running {
		l.mu.Unlock()
		return false, nil
	}
	l.running = false
	close(l.stop)
	done, cancel := l.done, l.cancel
	l.mu.Unlock()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		cancel()
		<-done
		err = ctx.Err()
	}
	cancel()
	return true, err
}

// The methods below are for the goroutine, and Poke also for goroutines
// that setup starts: they read fields Start sets before either begins.

// Stopping tells whether Stop was called.
func (l *Loop) Stopping() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// StopC is closed when Stop is called, for use in a select.
func (l *Loop) StopC() <-chan struct{} { return l.stop }

// Context is cancelled when a Stop's deadline passes (and after the
// goroutine returned). Work handed elsewhere, such as a delivery, uses it.
func (l *Loop) Context() context.Context { return l.ctx }

// Wake receives a value after Poke.
func (l *Loop) Wake() <-chan struct{} { return l.wake }

// Poke wakes the goroutine if it waits on Wake, or makes its next wait
// return at once. It never blocks.
func (l *Loop) Poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}
