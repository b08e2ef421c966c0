// Package health records whether one component is failing, for the
// agent's /health endpoint and its metrics. The hot path pays one atomic
// load per batch while things work; only a failure stores anything.
package health

import (
	"sync/atomic"
	"time"
)

// State is one component's failure state. Its zero value is healthy; a nil
// *State ignores every call, so code can hold one unconditionally.
type State struct {
	since atomic.Int64 // Unix nanoseconds when the current run of failures began; 0 while OK
	last  atomic.Pointer[Failure]
	count atomic.Int64 // failures in the current run
}

// Failure is the last error a component reported.
type Failure struct {
	Err string
	At  time.Time
}

// Fail records one failure; the first after a success starts a run.
func (s *State) Fail(err error) {
	if s == nil || err == nil {
		return
	}
	now := time.Now()
	s.since.CompareAndSwap(0, now.UnixNano())
	s.count.Add(1)
	s.last.Store(&Failure{Err: err.Error(), At: now})
}

// OK records a success: a run of failures, if any, ends.
func (s *State) OK() {
	if s == nil || s.since.Load() == 0 {
		return
	}
	s.since.Store(0)
	s.count.Store(0)
}

// FailingSince is when the current run of failures began; zero when the
// component is not failing.
func (s *State) FailingSince() time.Time {
	if s == nil {
		return time.Time{}
	}
	n := s.since.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Failures is the number of failures in the current run.
func (s *State) Failures() int64 {
	if s == nil {
		return 0
	}
	return s.count.Load()
}

// Last is the last failure reported, also after the run ended (nil if
// none ever was).
func (s *State) Last() *Failure {
	if s == nil {
		return nil
	}
	return s.last.Load()
}
