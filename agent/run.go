package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/ratelog"
)

// Options tune how the agent runs.
type Options struct {
	// DrainTimeout bounds how long Stop lets sinks empty the channels after
	// the sources stopped. Zero means 5 seconds.
	DrainTimeout time.Duration
	// StopTimeout bounds each component's Stop. Zero means 10 seconds.
	StopTimeout time.Duration
}

type running struct {
	opts     Options
	sinkCtx  context.Context
	sinkStop context.CancelFunc
	// procCtx is what sink Process calls get. It outlives sinkCtx so the
	// batch in flight when draining ends can finish, and is cancelled only
	// when the sinks overrun the stop timeout.
	procCtx   context.Context
	procStop  context.CancelFunc
	srcCtx    context.Context
	srcStop   context.CancelFunc
	sinkWG    sync.WaitGroup
	srcWG     sync.WaitGroup
	startedCh []*builtChannel
	startedRn []*builtRunner
	startedSk []*builtSink
	startedSr []*builtSource
	stopOnce  sync.Once
}

// Name is the agent's name.
func (a *Agent) Name() string { return a.name }

// Start starts channels, then sinks and their runners, then sources, as
// Flume does. If anything fails to start, what was started is stopped again
// and the error names the component.
func (a *Agent) Start(ctx context.Context, opts Options) error {
	if opts.DrainTimeout == 0 {
		opts.DrainTimeout = 5 * time.Second
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 10 * time.Second
	}
	r := &running{opts: opts}
	r.sinkCtx, r.sinkStop = context.WithCancel(context.Background())
	r.procCtx, r.procStop = context.WithCancel(context.Background())
	r.srcCtx, r.srcStop = context.WithCancel(context.Background())
	a.run = r
	fail := func(err error) error {
		_ = a.Stop(context.Background())
		return err
	}
	for _, c := range a.channels {
		if err := a.startChannel(ctx, r, c); err != nil {
			return fail(err)
		}
	}
	grouped := groupedSinks(a.runners)
	// Lone sinks are started here; grouped sinks by their processor.
	for _, s := range a.sinks {
		if grouped[s.name] {
			s.counters.Started()
			r.startedSk = append(r.startedSk, s)
			continue
		}
		if err := s.sink.Start(ctx); err != nil {
			return fail(fmt.Errorf("start sink %s: %w", s.name, err))
		}
		s.counters.Started()
		r.startedSk = append(r.startedSk, s)
	}
	for _, rn := range a.runners {
		if err := a.startRunner(ctx, r, rn); err != nil {
			return fail(err)
		}
	}
	for _, s := range a.sources {
		if err := a.startSource(ctx, r, s); err != nil {
			return fail(err)
		}
	}
	a.log.Info("agent started", "agent", a.name, "sources", len(a.sources), "channels", len(a.channels), "sinks", len(a.sinks))
	return nil
}

// startChannel starts a channel and, when it replaces channels that still
// hold events, the goroutine that moves them into it.
func (a *Agent) startChannel(ctx context.Context, r *running, c *builtChannel) error {
	if err := c.ch.Start(ctx); err != nil {
		return fmt.Errorf("start channel %s: %w", c.name, err)
	}
	c.counters.Started()
	r.startedCh = append(r.startedCh, c)
	if len(c.pending()) > 0 {
		r.sinkWG.Add(1)
		go func() {
			defer r.sinkWG.Done()
			a.carryOver(r.sinkCtx, c)
		}()
	}
	return nil
}

// groupedSinks names the sinks that belong to a sink group: their group's
// processor starts and stops them.
func groupedSinks(runners []*builtRunner) map[string]bool {
	grouped := map[string]bool{}
	for _, rn := range runners {
		if rn.group {
			for _, n := range rn.sinks {
				grouped[n] = true
			}
		}
	}
	return grouped
}

// runHandle stops one runner or pollable source's goroutine alone (a
// reload that replaces it), besides the agent's contexts that stop all.
type runHandle struct {
	stop     context.CancelFunc // ends the loop after the current call
	stopProc context.CancelFunc // cancels the call in flight
	done     chan struct{}
}

// halt ends the goroutine: at once if it is between calls, else after
// the call in flight, cancelled past timeout or when ctx ends.
func (h runHandle) halt(ctx context.Context, timeout time.Duration) {
	if h.done == nil {
		return
	}
	h.stop()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-h.done:
	case <-t.C:
	case <-ctx.Done():
	}
	h.stopProc()
	<-h.done
}

// startRunner starts a sink runner's sink (or group processor) and its
// goroutine.
func (a *Agent) startRunner(ctx context.Context, r *running, rn *builtRunner) error {
	if rn.group {
		if err := rn.proc.Start(ctx); err != nil {
			return fmt.Errorf("start sink group %s: %w", rn.name, err)
		}
	}
	r.startedRn = append(r.startedRn, rn)
	loopCtx, stop := context.WithCancel(r.sinkCtx)
	procCtx, stopProc := context.WithCancel(r.procCtx)
	rn.run = runHandle{stop: stop, stopProc: stopProc, done: make(chan struct{})}
	r.sinkWG.Add(1)
	go func() {
		defer r.sinkWG.Done()
		defer close(rn.run.done)
		a.runSink(loopCtx, procCtx, rn)
	}()
	return nil
}

// startSource starts a source's interceptors, the source, and for a
// pollable source its runner goroutine.
func (a *Agent) startSource(ctx context.Context, r *running, s *builtSource) error {
	for _, in := range s.processor.Interceptors() {
		if l, ok := in.(sluice.Lifecycle); ok {
			if err := l.Start(ctx); err != nil {
				return fmt.Errorf("start an interceptor of source %s: %w", s.name, err)
			}
		}
	}
	if err := s.src.Start(ctx); err != nil {
		return fmt.Errorf("start source %s: %w", s.name, err)
	}
	s.counters.Started()
	r.startedSr = append(r.startedSr, s)
	if ps, ok := s.src.(sluice.PollableSource); ok {
		pollCtx, stop := context.WithCancel(r.srcCtx)
		s.poll = runHandle{stop: stop, stopProc: stop, done: make(chan struct{})}
		r.srcWG.Add(1)
		go func() {
			defer r.srcWG.Done()
			defer close(s.poll.done)
			a.runPollable(pollCtx, s, ps)
		}()
	}
	return nil
}

// Stop stops sources first, lets the sinks drain the channels within the
// drain timeout, then stops sinks and channels. It is idempotent.
func (a *Agent) Stop(ctx context.Context) error {
	r := a.run
	if r == nil {
		return nil
	}
	var errs []error
	r.stopOnce.Do(func() {
		stopOne := func(what string, l sluice.Lifecycle) {
			sctx, cancel := context.WithTimeout(ctx, r.opts.StopTimeout)
			defer cancel()
			if err := l.Stop(sctx); err != nil {
				errs = append(errs, fmt.Errorf("stop %s: %w", what, err))
			}
		}
		r.srcStop()
		for i := len(r.startedSr) - 1; i >= 0; i-- {
			s := r.startedSr[i]
			stopOne("source "+s.name, s.src)
			s.counters.Stopped()
			for _, in := range s.processor.Interceptors() {
				if l, ok := in.(sluice.Lifecycle); ok {
					stopOne("interceptor of source "+s.name, l)
				}
			}
		}
		r.srcWG.Wait()
		a.drain(ctx, r)
		r.sinkStop()
		a.waitSinks(ctx, r)
		grouped := map[string]bool{}
		for i := len(r.startedRn) - 1; i >= 0; i-- {
			rn := r.startedRn[i]
			if rn.group {
				stopOne("sink group "+rn.name, rn.proc)
				for _, n := range rn.sinks {
					grouped[n] = true
				}
			}
		}
		for i := len(r.startedSk) - 1; i >= 0; i-- {
			s := r.startedSk[i]
			if !grouped[s.name] {
				stopOne("sink "+s.name, s.sink)
			}
			if s.dead != nil {
				if err := s.dead.Close(); err != nil {
					errs = append(errs, fmt.Errorf("close the dead letter of sink %s: %w", s.name, err))
				}
			}
			s.counters.Stopped()
		}
		for i := len(r.startedCh) - 1; i >= 0; i-- {
			c := r.startedCh[i]
			stopOne("channel "+c.name, c.ch)
			c.counters.Stopped()
		}
		a.log.Info("agent stopped", "agent", a.name)
	})
	return errors.Join(errs...)
}

// drain waits until every sized channel is empty, the drain timeout passes
// or ctx ends, while the sink runners keep going.
func (a *Agent) drain(ctx context.Context, r *running) {
	if len(r.startedRn) == 0 {
		return
	}
	deadline := time.NewTimer(r.opts.DrainTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		left := int64(0)
		for _, c := range r.startedCh {
			if s, ok := c.ch.(sluice.Sized); ok {
				left += s.Size()
			}
		}
		if left == 0 {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			a.log.Warn("drain timeout: events stay in the channels", "events", left, "timeout", r.opts.DrainTimeout)
			return
		case <-ctx.Done():
			return
		}
	}
}

// Backoff of a sink runner, after Flume's SinkRunner: an idle sink waits up
// to maxIdleWait (but wakes as soon as its channel gets events); a failing
// sink waits from minErrorWait doubling to maxErrorWait.
const (
	maxIdleWait  = 1 * time.Second
	minErrorWait = 250 * time.Millisecond
	maxErrorWait = 5 * time.Second
)

type processor interface {
	Process(ctx context.Context) (sluice.Status, error)
}

// waitSinks waits for the sink runners to finish their last Process call.
// A sink still busy after the stop timeout (or when ctx ends) has its
// delivery cancelled, so a hung downstream cannot hold Stop forever.
func (a *Agent) waitSinks(ctx context.Context, r *running) {
	done := make(chan struct{})
	go func() {
		r.sinkWG.Wait()
		close(done)
	}()
	t := time.NewTimer(r.opts.StopTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		a.log.Warn("sinks still delivering at the stop timeout; cancelling", "timeout", r.opts.StopTimeout)
	case <-ctx.Done():
	}
	r.procStop()
	<-done
}

func (a *Agent) runSink(ctx, procCtx context.Context, rn *builtRunner) {
	var p processor = rn.sink
	what := "sink"
	if rn.group {
		p, what = rn.proc, "sink group"
	}
	log := a.log.With(what, rn.name)
	var notify sluice.Notifier
	if len(rn.channels) > 0 {
		notify, _ = rn.channels[0].(sluice.Notifier)
	}
	errWait := time.Duration(0)
	// One line when deliveries begin to fail, a reminder now and then, one
	// when they work again: not one per batch.
	outage := ratelog.Outage{Log: log}
	for ctx.Err() == nil {
		var ready <-chan struct{}
		if notify != nil {
			// Ask before processing, so a commit that lands while we
			// process still wakes us.
			ready = notify.Ready()
		}
		status, err := safeProcess(procCtx, p)
		if err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return
			}
			errWait = min(max(errWait*2, minErrorWait), maxErrorWait)
			outage.Fail("delivery failed; the batch was rolled back and will be retried with backoff", err, "retry_in", errWait)
			sleep(ctx, errWait, nil)
			continue
		}
		errWait = 0
		if status == sluice.Ready {
			outage.OK("delivering again")
		}
		if status == sluice.Backoff {
			sleep(ctx, maxIdleWait, ready)
		}
	}
}

// safeProcess turns a panic in a component into an error, so one bad
// component cannot take the agent down.
func safeProcess(ctx context.Context, p processor) (st sluice.Status, err error) {
	defer func() {
		if r := recover(); r != nil {
			st, err = sluice.Backoff, fmt.Errorf("panic in Process: %v", r)
		}
	}()
	return p.Process(ctx)
}

func (a *Agent) runPollable(ctx context.Context, s *builtSource, ps sluice.PollableSource) {
	log := a.log.With("source", s.name)
	backoffs := 0
	var limit ratelog.Limiter
	for ctx.Err() == nil {
		status, err := func() (st sluice.Status, err error) {
			defer func() {
				if r := recover(); r != nil {
					st, err = sluice.Backoff, fmt.Errorf("panic in Process: %v", r)
				}
			}()
			return ps.Process(ctx)
		}()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.health.Fail(err)
			if ok, held := limit.Allow(); ok {
				log.Error("source failed; will retry", "err", err, "held_back", held)
			}
			sleep(ctx, maxErrorWait, nil)
			continue
		}
		if status == sluice.Backoff {
			backoffs++
			sleep(ctx, min(time.Duration(backoffs)*time.Second, maxErrorWait), nil)
			continue
		}
		backoffs = 0
		s.health.OK()
	}
}

func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-wake:
	}
}

// carryOver moves the events of channels that a reload replaced into the
// channel that replaced them, as room allows, until they are empty or the
// agent stops (what is left then is carried by the next configuration).
func (a *Agent) carryOver(ctx context.Context, c *builtChannel) {
	chunk := 1000
	if tc, ok := c.ch.(sluice.TxnCapacitor); ok && tc.TransactionCapacity() > 0 {
		chunk = min(chunk, tc.TransactionCapacity())
	}
	moved := 0
	for _, old := range c.pending() {
		if s, ok := old.(sluice.Sized); ok {
			a.log.Info("channel changed by the reload: moving the events the old one held into the new one",
				"channel", c.name, "events", s.Size())
		}
		n := chunk
		if tc, ok := old.(sluice.TxnCapacitor); ok && tc.TransactionCapacity() > 0 {
			n = min(n, tc.TransactionCapacity())
		}
		for ctx.Err() == nil {
			tx := old.Begin()
			events, err := tx.Take(n)
			if err != nil || len(events) == 0 {
				_ = tx.Rollback()
				break
			}
			put := c.ch.Begin()
			if err := put.Put(events); err == nil {
				err = put.Commit()
			}
			if err != nil {
				// No room yet: the events stay in the old channel and the
				// sinks make room.
				_ = put.Rollback()
				_ = tx.Rollback()
				sleep(ctx, 100*time.Millisecond, nil)
				continue
			}
			if err := tx.Commit(); err != nil {
				a.log.Warn("carrying events across a reload: the old channel's commit failed; they may be delivered twice", "channel", c.name, "err", err)
			}
			moved += len(events)
		}
	}
	if ctx.Err() == nil {
		a.log.Info("the events of the channel the reload replaced are all in the new one", "channel", c.name, "events", moved)
		c.carryMu.Lock()
		c.carry = nil
		c.carryMu.Unlock()
	}
}

// Counters lists every component's counters under Flume's monitoring keys
// (SOURCE.r1, CHANNEL.c1, SINK.k1).
func (a *Agent) Counters() map[string]*sluice.Counters {
	out := map[string]*sluice.Counters{}
	for _, s := range a.sources {
		out["SOURCE."+s.name] = s.counters.Counters
	}
	for _, c := range a.channels {
		out["CHANNEL."+c.name] = c.counters.Counters
	}
	for _, k := range a.sinks {
		out["SINK."+k.name] = k.counters.Counters
	}
	return out
}

// Describe returns the graph as lines "source r1 (netcat) -> c1" etc., for
// `sluice check`.
func (a *Agent) Describe() []string {
	var out []string
	types := map[string]string{}
	for _, c := range a.cfg.Channels {
		types["c:"+c.Name] = c.Type
	}
	for _, s := range a.cfg.Sources {
		line := fmt.Sprintf("source %s (%s) -> %s", s.Name, s.Type, joinTyped(s.Channels, types))
		if len(s.Interceptors) > 0 {
			var names []string
			for _, i := range s.Interceptors {
				names = append(names, i.Name+"("+i.Type+")")
			}
			line += fmt.Sprintf("  interceptors: %v", names)
		}
		if s.Selector != nil && s.Selector.Type != "" {
			line += "  selector: " + s.Selector.Type
		}
		out = append(out, line)
	}
	for _, k := range a.cfg.Sinks {
		out = append(out, fmt.Sprintf("sink %s (%s) <- %s", k.Name, k.Type, joinTyped([]string{k.Channel}, types)))
	}
	for _, g := range a.cfg.SinkGroups {
		typ := "default"
		if g.Processor != nil && g.Processor.Type != "" {
			typ = g.Processor.Type
		}
		out = append(out, fmt.Sprintf("sinkgroup %s (%s): %v", g.Name, typ, g.Sinks))
	}
	return out
}

func joinTyped(names []string, types map[string]string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n + "(" + types["c:"+n] + ")"
	}
	return s
}

// TakeOver makes a, built by BuildReload from the running prev, the
// running agent without stopping what the reload left unchanged: it stops
// prev's components that a does not reuse (sources first, then sink
// runners, sinks, channels), then starts a's new ones (channels, sinks,
// runners, sources). A source whose channels did not change keeps
// accepting throughout. On error, what a started is stopped again and the
// caller falls back to a full restart.
func (a *Agent) TakeOver(ctx context.Context, prev *Agent) error {
	r := prev.run
	if r == nil {
		return a.Start(ctx, Options{})
	}
	stopCtx := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, r.opts.StopTimeout) }
	stop := func(what string, l sluice.Lifecycle) {
		c, cancel := stopCtx()
		defer cancel()
		if err := l.Stop(c); err != nil {
			a.log.Warn("reload: stopping a replaced component failed", "component", what, "err", err)
		}
	}
	var kept, replaced int
	keepSr := map[*builtSource]bool{}
	for _, s := range a.sources {
		keepSr[s] = true
	}
	var sources []*builtSource
	for i := len(r.startedSr) - 1; i >= 0; i-- {
		s := r.startedSr[i]
		if keepSr[s] {
			continue
		}
		replaced++
		s.poll.halt(ctx, r.opts.StopTimeout)
		stop("source "+s.name, s.src)
		s.counters.Stopped()
		for _, in := range s.processor.Interceptors() {
			if l, ok := in.(sluice.Lifecycle); ok {
				stop("interceptor of source "+s.name, l)
			}
		}
	}
	for _, s := range r.startedSr {
		if keepSr[s] {
			sources = append(sources, s)
		}
	}
	keepRn := map[*builtRunner]bool{}
	for _, rn := range a.runners {
		keepRn[rn] = true
	}
	keepSk := map[*builtSink]bool{}
	for _, k := range a.sinks {
		keepSk[k] = true
	}
	grouped := map[string]bool{}
	var runners []*builtRunner
	for i := len(r.startedRn) - 1; i >= 0; i-- {
		rn := r.startedRn[i]
		if keepRn[rn] {
			continue
		}
		rn.run.halt(ctx, r.opts.StopTimeout)
		if rn.group {
			stop("sink group "+rn.name, rn.proc)
			for _, n := range rn.sinks {
				grouped[n] = true
			}
		}
	}
	for _, rn := range r.startedRn {
		if keepRn[rn] {
			runners = append(runners, rn)
		}
	}
	var sinks []*builtSink
	for i := len(r.startedSk) - 1; i >= 0; i-- {
		k := r.startedSk[i]
		if keepSk[k] {
			continue
		}
		replaced++
		if !grouped[k.name] {
			stop("sink "+k.name, k.sink)
		}
		if k.dead != nil {
			_ = k.dead.Close()
		}
		k.counters.Stopped()
	}
	for _, k := range r.startedSk {
		if keepSk[k] {
			sinks = append(sinks, k)
		}
	}
	keepCh := map[*builtChannel]bool{}
	for _, c := range a.channels {
		keepCh[c] = true
	}
	var channels []*builtChannel
	for i := len(r.startedCh) - 1; i >= 0; i-- {
		c := r.startedCh[i]
		if keepCh[c] {
			continue
		}
		replaced++
		stop("channel "+c.name, c.ch)
		c.counters.Stopped()
	}
	for _, c := range r.startedCh {
		if keepCh[c] {
			channels = append(channels, c)
		}
	}
	kept = len(sources) + len(sinks) + len(channels)
	r.startedSr, r.startedRn, r.startedSk, r.startedCh = sources, runners, sinks, channels
	a.run = r
	prev.run = nil // prev is a's now; stopping prev must not stop a

	fail := func(err error) error {
		_ = a.Stop(context.Background())
		return err
	}
	if err := ctx.Err(); err != nil {
		// Stopped while the replaced components stopped (a signal):
		// start nothing new, stop the rest.
		return fail(fmt.Errorf("reload interrupted: %w", err))
	}
	for _, c := range a.channels {
		if slices.Contains(r.startedCh, c) {
			continue
		}
		if err := a.startChannel(ctx, r, c); err != nil {
			return fail(err)
		}
	}
	newGrouped := groupedSinks(a.runners)
	for _, k := range a.sinks {
		if slices.Contains(r.startedSk, k) {
			continue
		}
		if !newGrouped[k.name] {
			if err := k.sink.Start(ctx); err != nil {
				return fail(fmt.Errorf("start sink %s: %w", k.name, err))
			}
		}
		k.counters.Started()
		r.startedSk = append(r.startedSk, k)
	}
	for _, rn := range a.runners {
		if slices.Contains(r.startedRn, rn) {
			continue
		}
		if err := a.startRunner(ctx, r, rn); err != nil {
			return fail(err)
		}
	}
	for _, s := range a.sources {
		if slices.Contains(r.startedSr, s) {
			continue
		}
		if err := a.startSource(ctx, r, s); err != nil {
			return fail(err)
		}
	}
	a.log.Info("configuration reloaded in place", "agent", a.name, "kept_running", kept, "replaced", replaced)
	return nil
}
