// Package ratelog keeps a failing peer or a flood of bad input from flooding
// the log: a Limiter lets one line through per interval and counts what it
// held back; an Outage logs once when a run of failures begins, rarely while
// it lasts, and once when it ends.
package ratelog

import (
	"log/slog"
	"sync"
	"time"
)

// Limiter lets one log line through per Every (10 s when zero), or Burst
// lines when set (each connection's own line while there are few, a trickle
// when there are thousands). It is safe for concurrent use.
type Limiter struct {
	Every time.Duration
	Burst int

	mu         sync.Mutex
	last       time.Time // start of the current interval
	used       int       // lines let through in it
	suppressed int
}

// Allow reports whether a line may be logged now, and how many were held
// back since the last one that was.
func (r *Limiter) Allow() (bool, int) { return r.AllowBurst(r.Burst) }

// AllowBurst is Allow with burst lines per interval, whatever Burst says.
func (r *Limiter) AllowBurst(burst int) (bool, int) {
	every := r.Every
	if every == 0 {
		every = 10 * time.Second
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < every {
		if r.used >= max(burst, 1) {
			r.suppressed++
			return false, 0
		}
		r.used++
		n := r.suppressed
		r.suppressed = 0
		return true, n
	}
	n := r.suppressed
	r.last, r.used, r.suppressed = now, 1, 0
	return true, n
}

// Outage logs a run of failures of one thing (a sink's downstream, a
// source's channels) as it begins, then at most once per Remind (1 minute
// when zero) with the number of failures so far, and once when it ends. It
// is used from one goroutine at a time.
type Outage struct {
	Log    *slog.Logger
	Remind time.Duration

	failing  bool
	since    time.Time
	lastLine time.Time
	failures int
}

// Fail records one failure. what is the message of the first line.
func (o *Outage) Fail(what string, err error, args ...any) {
	now := time.Now()
	o.failures++
	if !o.failing {
		o.failing, o.since, o.lastLine = true, now, now
		o.Log.Error(what, append(args, "err", err)...)
		return
	}
	remind := o.Remind
	if remind == 0 {
		remind = time.Minute
	}
	if now.Sub(o.lastLine) >= remind {
		o.lastLine = now
		o.Log.Warn("still failing: "+what, append(args, "err", err, "for", now.Sub(o.since).Round(time.Second), "failures", o.failures)...)
	}
}

// OK records a success; it logs the end of an outage that was going on.
func (o *Outage) OK(what string) {
	if !o.failing {
		return
	}
	o.Log.Info(what, "after", time.Since(o.since).Round(time.Millisecond), "failures", o.failures)
	o.failing, o.failures = false, 0
}

// Failing reports whether an outage is going on.
func (o *Outage) Failing() bool { return o.failing }
