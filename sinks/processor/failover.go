package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

// FailoverConfig holds the failover processor's properties.
type FailoverConfig struct {
	Priority   map[string]string `flume:"priority.*" doc:"priority of the member sink named after the dot; the highest priority among live sinks is used"`
	MaxPenalty time.Duration     `flume:"maxpenalty" unit:"ms" doc:"upper limit of the time a failed sink is benched before it is tried again"`
}

func failoverConfig() *FailoverConfig {
	return &FailoverConfig{MaxPenalty: 30000 * time.Millisecond}
}

// Validate checks that every priority is a whole number.
func (c *FailoverConfig) Validate() error {
	var errs []error
	for _, k := range sortedKeys(c.Priority) {
		if _, err := parsePriority(c.Priority[k]); err != nil {
			errs = append(errs, conf.Invalid("priority."+k, "%v", err))
		}
	}
	return errors.Join(errs...)
}

func parsePriority(v string) (int, error) {
	s := strings.TrimSpace(v)
	n, err := strconv.ParseInt(s, 10, 32) // Flume reads a Java int
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", v)
	}
	return int(n), nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Failover sends every call to the live sink with the highest priority. A
// sink whose Process fails is benched for a penalty that doubles while it
// keeps failing, and the next sink is tried in the same call. A benched sink
// whose penalty has run out is tried first on the next call and rejoins the
// live sinks once it returns Ready.
type Failover struct {
	members
	now        func() time.Time
	log        *slog.Logger
	maxPenalty time.Duration

	mu     sync.Mutex
	live   []*member // highest priority first; live[0] is the active sink
	failed []*member // benched sinks, in the order they were benched
}

var _ sluice.SinkProcessor = (*Failover)(nil)

// member is one sink of a failover group and its failure state.
type member struct {
	name     string
	sink     sluice.Drainer
	priority int
	fails    int       // consecutive failures while benched
	until    time.Time // benched until (exclusive)
	err      error     // latest failure
}

func newFailover(env sluice.Env, cfg *FailoverConfig) (*Failover, error) {
	if err := checkSinks(env.Sinks); err != nil {
		return nil, err
	}
	names := sinkNames(env.Sinks)
	var errs []error
	for _, k := range sortedKeys(cfg.Priority) {
		if slices.Contains(names, k) {
			continue
		}
		msg := fmt.Sprintf("sink %q is not in this sink group (its sinks: %s)", k, strings.Join(names, " "))
		if s := conf.Suggest(k, names); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		errs = append(errs, conf.Invalid("priority."+k, "%s", msg))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	log := logger(env)
	f := &Failover{members: members{sinks: env.Sinks}, now: time.Now, log: log, maxPenalty: cfg.MaxPenalty}
	bySink := make(map[string]sluice.Drainer, len(env.Sinks))
	for _, ns := range env.Sinks {
		bySink[ns.Name] = ns.Drain
	}
	// Flume walks the sinks in java.util.HashMap order, giving each sink
	// without a priority the next of -1, -2, ...; a sink whose priority is
	// already taken is left out of the rotation for good.
	next := 0
	var unset []string
	owner := map[int]string{}
	for _, name := range javaHashOrder(names) {
		p, explicit := 0, false
		if v, ok := cfg.Priority[name]; ok {
			p, _ = parsePriority(v) // checked above
			explicit = true
		} else {
			next--
			p = next
			unset = append(unset, fmt.Sprintf("%s=%d", name, p))
		}
		if other, dup := owner[p]; dup {
			how := "its priority"
			if !explicit {
				how = "the default priority Flume gives it"
			}
			log.Warn("failover sink processor will never use a sink: "+how+" duplicates another sink's, as in Flume; give every sink its own priority",
				"sink", name, "priority", p, "same_as", other)
			continue
		}
		owner[p] = name
		f.live = append(f.live, &member{name: name, sink: bySink[name], priority: p})
	}
	sort.SliceStable(f.live, func(i, j int) bool { return f.live[i].priority > f.live[j].priority })
	if len(unset) > 1 {
		log.Warn("failover sink processor: several sinks have no priority; following Flume they get -1, -2, ... in Java hash order of their names, not list order; set priority.<sink> to choose",
			"defaults", strings.Join(unset, " "))
	}
	return f, nil
}

// penalty is how long a sink that failed fails times in a row stays
// benched: 1s·2^fails, capped at maxpenalty (so 2s after a first failure).
func (f *Failover) penalty(fails int) time.Duration {
	d := time.Second
	for i := 0; i < fails && d < f.maxPenalty; i++ {
		d *= 2
	}
	return min(d, f.maxPenalty)
}

// Process retries one benched sink whose penalty has expired, if any, and
// otherwise uses the active sink, failing over down the priorities.
func (f *Failover) Process(ctx context.Context) (sluice.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return sluice.Backoff, err
	}
	now := f.now()
	for {
		i := f.expired(now)
		if i < 0 {
			break
		}
		m := f.failed[i]
		f.failed = slices.Delete(f.failed, i, i+1)
		st, err := m.sink.Process(ctx)
		if err == nil {
			if st == sluice.Ready {
				m.fails, m.err, m.until = 0, nil, time.Time{}
				f.restore(m)
				f.log.Info("failover sink processor: sink recovered", "sink", m.name, "active", f.live[0].name)
			} else {
				// Nothing to do is no failure: it stays benched, unpenalised,
				// and is tried again first next time (Flume does the same).
				f.failed = append(f.failed, m)
			}
			return st, nil
		}
		if ctx.Err() != nil { // stopping: the failure says nothing about the sink
			f.failed = append(f.failed, m)
			return sluice.Backoff, fmt.Errorf("sink %s: %w", m.name, err)
		}
		m.fails++
		m.err = err
		m.until = f.now().Add(f.penalty(m.fails))
		f.failed = append(f.failed, m)
		f.log.Debug("failover sink processor: benched sink failed again", "sink", m.name, "failures", m.fails, "benched_for", f.penalty(m.fails), "error", err)
	}
	for len(f.live) > 0 {
		m := f.live[0]
		st, err := m.sink.Process(ctx)
		if err == nil {
			return st, nil
		}
		if ctx.Err() != nil {
			return sluice.Backoff, fmt.Errorf("sink %s: %w", m.name, err)
		}
		f.live = slices.Delete(f.live, 0, 1)
		m.fails, m.err = 1, err
		m.until = f.now().Add(f.penalty(1))
		f.failed = append(f.failed, m)
		next := "none"
		if len(f.live) > 0 {
			next = f.live[0].name
		}
		f.log.Warn("failover sink processor: sink failed, failing over", "sink", m.name, "benched_for", f.penalty(1), "next", next, "error", err)
	}
	return sluice.Backoff, f.allFailed(now)
}

// expired returns the index of the benched sink whose penalty ended first,
// if it ended before now, or -1.
func (f *Failover) expired(now time.Time) int {
	best := -1
	for i, m := range f.failed {
		if best < 0 || m.until.Before(f.failed[best].until) {
			best = i
		}
	}
	if best >= 0 && f.failed[best].until.Before(now) {
		return best
	}
	return -1
}

func (f *Failover) restore(m *member) {
	i := sort.Search(len(f.live), func(i int) bool { return f.live[i].priority < m.priority })
	f.live = slices.Insert(f.live, i, m)
}

func (f *Failover) allFailed(now time.Time) error {
	benched := slices.Clone(f.failed)
	sort.SliceStable(benched, func(i, j int) bool { return benched[i].priority > benched[j].priority })
	e := &AllFailedError{Group: "failover", Reason: "every sink has failed, nothing left to fail over to", now: now}
	for _, m := range benched {
		e.Failures = append(e.Failures, sinkFailure{name: m.name, until: m.until, err: m.err})
	}
	return e
}
