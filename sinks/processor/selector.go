package processor

import (
	"math/rand/v2"
	"time"
)

const (
	// A failure within this long of the end of the previous blacklisting
	// counts as a repeat and doubles the next one (Flume's OrderSelector).
	sequentialRange = time.Hour
	// The doubling stops after this many repeats.
	maxSequentialFails = 16
)

// orderSelector picks the order in which a load_balance group tries its
// sinks, optionally leaving out those that failed recently (Flume's
// OrderSelector with its round-robin and random variants).
type orderSelector struct {
	random     bool
	backoff    bool
	maxTimeout time.Duration
	state      []failState // per sink, in configuration order
	next       int         // round robin: where the next order starts
	rng        *rand.Rand
}

type failState struct {
	lastFail time.Time
	restore  time.Time // blacklisted until (exclusive)
	fails    int
}

// active lists the indices of the sinks that may be tried at now.
func (s *orderSelector) active(now time.Time) []int {
	out := make([]int, 0, len(s.state))
	for i := range s.state {
		if !s.backoff || s.state[i].restore.Before(now) {
			out = append(out, i)
		}
	}
	return out
}

// order returns the sinks to try at now, in order. Round robin starts one
// further along the active sinks on each call; random shuffles them.
func (s *orderSelector) order(now time.Time) []int {
	act := s.active(now)
	n := len(act)
	if s.random {
		s.rng.Shuffle(n, func(i, j int) { act[i], act[j] = act[j], act[i] })
		return act
	}
	// Like Flume, the position counts over the currently active sinks, so
	// the rotation shifts when sinks leave or rejoin.
	if s.next >= n {
		s.next = 0
	}
	begin := s.next
	s.next++
	if s.next == n {
		s.next = 0
	}
	out := make([]int, n)
	for i := range out {
		out[i] = act[(begin+i)%n]
	}
	return out
}

// informFailure blacklists sink i (with backoff enabled) for
// min(maxTimeout, 1s·2^k), where k counts failures that came within an
// hour of the end of the previous blacklisting (capped at 16), and starts
// again at 1 otherwise.
func (s *orderSelector) informFailure(i int, now time.Time) {
	if !s.backoff {
		return
	}
	st := &s.state[i]
	if st.lastFail.IsZero() || now.Sub(st.lastFail) >= s.length(st.fails)+sequentialRange {
		st.fails = 1
	} else if st.fails < maxSequentialFails {
		st.fails++
	}
	st.lastFail = now
	st.restore = now.Add(s.length(st.fails))
}

func (s *orderSelector) length(fails int) time.Duration {
	return min(s.maxTimeout, time.Second<<fails)
}

// blacklistedUntil reports when sink i may be tried again; zero without
// backoff.
func (s *orderSelector) blacklistedUntil(i int) time.Time {
	if !s.backoff {
		return time.Time{}
	}
	return s.state[i].restore
}
