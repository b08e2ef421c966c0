// Package agent builds a running agent from a conf.AgentConfig: it looks up
// every component type in the registry, decodes and validates its
// properties, wires sources through interceptors and selectors to channels
// and channels to sinks, and runs the whole graph with Flume's lifecycle.
package agent

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/deadletter"
	"github.com/sluiceio/sluice/internal/handoff"
	"github.com/sluiceio/sluice/internal/health"
	"github.com/sluiceio/sluice/internal/sinkloop"
)

type builtChannel struct {
	name     string
	ch       sluice.Channel
	counters *sluice.ChannelCounters
	typ      string // the registered type (aliases resolved)
	cfg      any    // the decoded properties

	// carry holds in-memory channels of earlier configurations, changed
	// by a reload, whose events move into ch while the agent runs.
	carryMu sync.Mutex
	carry   []sluice.Channel
}

type builtSource struct {
	name      string
	typ       string // the registered type
	src       sluice.Source
	counters  *sluice.SourceCounters
	processor *handoff.Processor
	health    *health.State // refused hand-offs, failed polls
	sig       any           // what a reload compares to keep it running
	poll      runHandle
}

// builtRunner is one sink runner: a lone sink or a sink group's processor.
type builtRunner struct {
	name     string // sink name, or group name
	group    bool
	sink     sluice.Drainer       // lone sink: its transaction loop
	proc     sluice.SinkProcessor // group
	channels []sluice.Channel     // what its sinks drain, for wake-ups
	sinks    []string
	sig      any // what a reload compares to keep it running
	run      runHandle
}

type builtSink struct {
	name     string
	typ      string // the registered type
	sink     sluice.Sink
	loop     *sinkloop.Loop
	drain    sluice.Drainer // loop, reporting to health
	health   *health.State  // failed transactions
	counters *sluice.SinkCounters
	channel  string
	dead     *deadletter.Dir // a dead-letter directory, closed at stop
	sig      any             // what a reload compares to keep it running
}

// Agent is a built, runnable agent.
type Agent struct {
	name     string
	log      *slog.Logger
	channels []*builtChannel
	sources  []*builtSource
	sinks    []*builtSink
	runners  []*builtRunner
	cfg      *conf.AgentConfig

	run *running
}

// Build creates every component of cfg without starting anything. It returns
// every problem found (cfg.Errors included); the agent is usable only when
// none of them is an error (warnings are allowed).
func Build(cfg *conf.AgentConfig, log *slog.Logger) (*Agent, []*conf.Error) {
	return BuildNext(cfg, log, nil)
}

// BuildNext is Build for a configuration that replaces prev's (a reload):
// a channel of prev that can be kept (sluice.Keeper) and whose name, type
// and properties are unchanged is taken over, events and counters included,
// rather than built anew. prev must be stopped before the new agent starts.
func BuildNext(cfg *conf.AgentConfig, log *slog.Logger, prev *Agent) (*Agent, []*conf.Error) {
	return buildAgent(cfg, log, prev, false)
}

// BuildReload is BuildNext for a reload that keeps prev running: every
// component whose type, properties and wiring are unchanged is prev's
// running instance, so TakeOver only stops what changed and starts what is
// new. Channels are reused whether or not they keep their events in memory.
func BuildReload(cfg *conf.AgentConfig, log *slog.Logger, prev *Agent) (*Agent, []*conf.Error) {
	return buildAgent(cfg, log, prev, true)
}

func buildAgent(cfg *conf.AgentConfig, log *slog.Logger, prev *Agent, reuse bool) (*Agent, []*conf.Error) {
	if log == nil {
		log = slog.Default()
	}
	// One pass decodes and validates the whole file; building only wires
	// what it produced.
	res, errs := conf.Resolve(cfg, map[sluice.Kind]conf.CoreProps{
		sluice.KindSink: {Prefix: "deadLetter.", Defaults: func() any { return deadletter.Defaults() }},
	})
	b := &builder{cfg: cfg, log: log, res: res, errs: append(append([]*conf.Error(nil), cfg.Errors...), errs...)}
	if prev != nil && reuse {
		b.reuse = prev
	}
	if prev != nil {
		b.prev = map[string]*builtChannel{}
		for _, c := range prev.channels {
			b.prev[c.name] = c
		}
	}
	a := &Agent{name: cfg.Agent, log: log, cfg: cfg}
	chans := map[string]*builtChannel{}
	for _, c := range cfg.Channels {
		bc := b.channel(c)
		if bc != nil {
			a.channels = append(a.channels, bc)
			chans[c.Name] = bc
		}
	}
	for _, s := range cfg.Sources {
		if bs := b.source(s, chans); bs != nil {
			a.sources = append(a.sources, bs)
		}
	}
	sinks := map[string]*builtSink{}
	for _, k := range cfg.Sinks {
		if bk := b.sink(k, chans); bk != nil {
			a.sinks = append(a.sinks, bk)
			sinks[k.Name] = bk
		}
	}
	grouped := map[string]bool{}
	for _, g := range cfg.SinkGroups {
		if r := b.group(g, sinks, chans); r != nil {
			a.runners = append(a.runners, r)
			for _, n := range r.sinks {
				grouped[n] = true
			}
		}
		for _, n := range g.Sinks {
			grouped[n] = true
		}
	}
	for _, k := range cfg.Sinks {
		bk := sinks[k.Name]
		if bk == nil || grouped[k.Name] {
			continue
		}
		if old := b.reusedRunner(k.Name, false, bk); old != nil {
			a.runners = append(a.runners, old)
			continue
		}
		r := &builtRunner{name: k.Name, sink: bk.drain, sinks: []string{k.Name}}
		if bc := chans[bk.channel]; bc != nil {
			r.channels = []sluice.Channel{bc.ch}
		}
		a.runners = append(a.runners, r)
	}
	// A removed in-memory channel that still holds events would drop them
	// when the old configuration stops: a reload is refused instead (a
	// durable channel keeps its events on disk for a later configuration).
	// Falling back to the previous configuration after a failed start
	// cannot be refused; it says what it drops.
	for name, old := range b.prev {
		if chans[name] != nil {
			continue
		}
		held := int64(0)
		for _, ch := range append(old.pending(), old.ch) {
			if s, ok := ch.(sluice.Sized); ok {
				if _, mem := ch.(sluice.Keeper); mem {
					held += s.Size()
				}
			}
		}
		if held > 0 && !reuse {
			log.Error("a channel the previous configuration does not have holds events: they are dropped", "channel", name, "events", held)
		} else if held > 0 {
			b.errs = append(b.errs, &conf.Error{Key: cfg.Agent + ".channels",
				Msg: fmt.Sprintf("channel %q holds %d events in memory and this configuration removes it: refusing the reload so that they are not dropped; keep the channel and its sinks until they have drained it, then reload again (SIGHUP, or edit the file)", name, held)})
		}
	}
	if len(cfg.Sources) == 0 && len(cfg.Sinks) == 0 && len(b.errs) == 0 {
		b.errs = append(b.errs, &conf.Error{Key: cfg.Agent, Msg: "the agent has no sources and no sinks: nothing would run"})
	}
	conf.SortErrors(b.errs)
	return a, b.errs
}

type builder struct {
	cfg  *conf.AgentConfig
	res  *conf.Resolved
	log  *slog.Logger
	errs []*conf.Error
	prev map[string]*builtChannel // the replaced agent's channels, by name
	// reuse, in a reload that keeps the old agent running: its
	// components, reused where nothing about them changed.
	reuse *Agent
}

func (b *builder) add(e *conf.Error) { b.errs = append(b.errs, e) }

// make runs a decoded part's constructor; nil (with the errors recorded)
// when the part did not decode or its constructor failed.
func (b *builder) make(p *conf.Part, env sluice.Env) any {
	if p == nil || !p.OK {
		return nil
	}
	v, err := p.Spec.New(env, p.Config)
	if err != nil {
		b.errs = append(b.errs, p.BuildErrors(err)...)
		return nil
	}
	return v
}

// wrongKind records that a registered type does not implement its kind.
func (b *builder) wrongKind(p *conf.Part, what string) {
	b.add(&conf.Error{Key: p.Key, File: p.At.File, Line: p.At.Line, Msg: fmt.Sprintf("type %q is not %s", p.Type, what)})
}

// construct runs a decoded part's constructor and checks that it made a T;
// what names T in the error when the registered type is of another kind.
func construct[T any](b *builder, p *conf.Part, env sluice.Env, what string) (T, bool) {
	var zero T
	v := b.make(p, env)
	if v == nil {
		return zero, false
	}
	t, ok := v.(T)
	if !ok {
		b.wrongKind(p, what)
		return zero, false
	}
	return t, true
}

func (b *builder) logger(kind, name string) *slog.Logger {
	return b.log.With(kind, name)
}

func (b *builder) channel(c *conf.Component) *builtChannel {
	p := b.res.Of(c)
	if p == nil || !p.OK {
		return nil
	}
	old := b.prev[c.Name]
	if old != nil && old.typ == p.Spec.Name && reflect.DeepEqual(old.cfg, p.Config) {
		if b.reuse != nil {
			b.log.Info("channel unchanged by the reload: kept with its events", "channel", c.Name)
			return old // running, and left running
		}
		if k, ok := old.ch.(sluice.Keeper); ok && k.KeepOnReload() {
			b.log.Info("channel unchanged by the reload: kept with its events", "channel", c.Name)
			return old
		}
	}
	counters := sluice.NewChannelCounters()
	env := sluice.Env{Agent: b.cfg.Agent, Name: c.Name, Logger: b.logger("channel", c.Name), ChannelCounters: counters}
	ch, ok := construct[sluice.Channel](b, p, env, "a channel")
	if !ok {
		return nil
	}
	bc := &builtChannel{name: c.Name, ch: ch, counters: counters, typ: p.Spec.Name, cfg: p.Config}
	if old != nil {
		// A changed in-memory channel hands its events to the new one
		// (Flume resizes the instance; a new instance must take them).
		bc.carry = old.pending()
		if k, ok := old.ch.(sluice.Keeper); ok && k.KeepOnReload() {
			bc.carry = append(bc.carry, old.ch)
		}
	}
	return bc
}

// pending is what of the carried channels still holds events.
func (c *builtChannel) pending() []sluice.Channel {
	c.carryMu.Lock()
	defer c.carryMu.Unlock()
	var out []sluice.Channel
	for _, ch := range c.carry {
		if s, ok := ch.(sluice.Sized); !ok || s.Size() > 0 {
			out = append(out, ch)
		}
	}
	return out
}

// source builds a source in the order its parts depend on each other: the
// channels it names, its selector, its interceptors, the hand-off that ties
// them together, then the source itself.
func (b *builder) source(c *conf.Component, chans map[string]*builtChannel) *builtSource {
	p := b.res.Of(c)
	sig := b.sourceSig(c)
	if b.reuse != nil {
		for _, old := range b.reuse.sources {
			if old.name == c.Name && reflect.DeepEqual(old.sig, sig) && b.sameChannels(c.Channels, chans) {
				return old
			}
		}
	}
	log := b.logger("source", c.Name)
	named := sourceChannels(c, chans)
	sel := b.selector(c, named, log)
	interceptors := b.interceptors(c, log)
	// Checked only now, so the selector's and interceptors' constructor
	// errors are reported too when the source's own properties are wrong.
	if p == nil || !p.OK {
		return nil
	}
	counters := sluice.NewSourceCounters()
	proc := handoff.New(c.Name, sel, interceptors, counters, log)
	hs := new(health.State)
	proc.SetHealth(hs)
	env := sluice.Env{Agent: b.cfg.Agent, Name: c.Name, Logger: log, Processor: proc, SourceCounters: counters, Channels: named}
	src, ok := construct[sluice.Source](b, p, env, "a source")
	if !ok {
		return nil
	}
	return &builtSource{name: c.Name, typ: p.Spec.Name, src: src, counters: counters, processor: proc, health: hs, sig: sig}
}

// sourceChannels are the built channels a source names, in its order; one
// that failed to build is left out (its error is already recorded).
func sourceChannels(c *conf.Component, chans map[string]*builtChannel) []sluice.NamedChannel {
	var named []sluice.NamedChannel
	for _, n := range c.Channels {
		if bc := chans[n]; bc != nil {
			named = append(named, sluice.NamedChannel{Name: n, Channel: bc.ch})
		}
	}
	return named
}

// sourceSig is what must be equal for a reload to keep a source running:
// its own properties, its channels, selector and interceptors.
func (b *builder) sourceSig(c *conf.Component) any {
	type part struct {
		Type   string
		Config any
	}
	of := func(p *conf.Part) part {
		if p == nil || p.Spec == nil {
			return part{}
		}
		return part{p.Spec.Name, p.Config}
	}
	sig := struct {
		Self, Selector part
		Channels       []string
		Interceptors   []part
	}{Self: of(b.res.Of(c)), Selector: of(b.res.Selector(c)), Channels: c.Channels}
	for _, ic := range c.Interceptors {
		sig.Interceptors = append(sig.Interceptors, of(b.res.OfSub(ic)))
	}
	return sig
}

// sinkSig is what must be equal for a reload to keep a sink running: its
// properties (the core's too), its channel, its dead-letter channel and
// its group.
func (b *builder) sinkSig(c *conf.Component) any {
	p := b.res.Of(c)
	sig := struct {
		Type                  string
		Config, Core          any
		Channel, Group, Where string
	}{Channel: c.Channel}
	if p != nil && p.Spec != nil {
		sig.Type, sig.Config, sig.Core = p.Spec.Name, p.Config, p.Core
	}
	if d, ok := sig.Core.(*deadletter.Config); ok {
		sig.Where = d.Channel
	}
	if g := b.groupOf(c.Name); g != nil {
		sig.Group = g.Name
	}
	return sig
}

func groupSig(p *conf.Part) any {
	if p == nil || p.Spec == nil {
		return nil
	}
	return struct {
		Type   string
		Config any
	}{p.Spec.Name, p.Config}
}

// groupOf is the sink group a sink belongs to in the new configuration.
func (b *builder) groupOf(sink string) *conf.Component {
	for _, g := range b.cfg.SinkGroups {
		if slices.Contains(g.Sinks, sink) {
			return g
		}
	}
	return nil
}

func (b *builder) prevSink(name string) *builtSink {
	for _, old := range b.reuse.sinks {
		if old.name == name {
			return old
		}
	}
	return nil
}

// sinkUnchanged: a reload can keep sink c's running instance as far as
// the sink itself goes.
func (b *builder) sinkUnchanged(c *conf.Component, chans map[string]*builtChannel) *builtSink {
	old := b.prevSink(c.Name)
	if old == nil || !reflect.DeepEqual(old.sig, b.sinkSig(c)) {
		return nil
	}
	need := []string{c.Channel}
	if d, ok := b.res.Of(c).Core.(*deadletter.Config); ok && d.Channel != "" {
		need = append(need, d.Channel)
	}
	if !b.sameChannels(need, chans) {
		return nil
	}
	return old
}

// reusedSink is the running sink a reload keeps for c, or nil. A sink of
// a group is kept only with its whole group: the group's processor starts
// and stops its sinks.
func (b *builder) reusedSink(c *conf.Component, chans map[string]*builtChannel) *builtSink {
	if b.reuse == nil {
		return nil
	}
	if g := b.groupOf(c.Name); g != nil {
		if b.reusedGroup(g, chans) == nil {
			return nil
		}
		return b.prevSink(c.Name)
	}
	old := b.sinkUnchanged(c, chans)
	if old == nil || b.reusedRunner(c.Name, false, old) == nil {
		return nil
	}
	return old
}

// reusedGroup is the running group runner a reload keeps for g: same
// processor, same sinks in the same order, each of them unchanged.
func (b *builder) reusedGroup(g *conf.Component, chans map[string]*builtChannel) *builtRunner {
	if b.reuse == nil {
		return nil
	}
	var members []*builtSink
	for _, n := range g.Sinks {
		var sc *conf.Component
		for _, k := range b.cfg.Sinks {
			if k.Name == n {
				sc = k
			}
		}
		if sc == nil {
			return nil
		}
		m := b.sinkUnchanged(sc, chans)
		if m == nil {
			return nil
		}
		members = append(members, m)
	}
	old := b.reusedRunner(g.Name, true, members...)
	if old == nil || !reflect.DeepEqual(old.sig, groupSig(b.res.Of(g))) {
		return nil
	}
	return old
}

// sameChannels: every channel named is the reused, running instance.
func (b *builder) sameChannels(names []string, chans map[string]*builtChannel) bool {
	for _, n := range names {
		if chans[n] == nil || b.prev[n] != chans[n] {
			return false
		}
	}
	return true
}

// reusedRunner returns the old agent's runner of a sink or group when a
// reload keeps it (its sinks are the reused ones), or nil.
func (b *builder) reusedRunner(name string, group bool, members ...*builtSink) *builtRunner {
	if b.reuse == nil {
		return nil
	}
	for _, old := range b.reuse.runners {
		if old.name != name || old.group != group || len(old.sinks) != len(members) {
			continue
		}
		for i, m := range members {
			if old.sinks[i] != m.name || !slices.Contains(b.reuse.sinks, m) {
				return nil
			}
		}
		return old
	}
	return nil
}

// selector builds a source's channel selector (replicating unless
// configured); nil when it cannot be built (the error is recorded).
func (b *builder) selector(c *conf.Component, named []sluice.NamedChannel, log *slog.Logger) sluice.ChannelSelector {
	if len(named) != len(c.Channels) || len(named) == 0 {
		return nil // the graph reported the missing channels
	}
	p := b.res.Selector(c)
	env := sluice.Env{Agent: b.cfg.Agent, Name: c.Name, Logger: log, Channels: named}
	sel, _ := b.make(p, env).(sluice.ChannelSelector)
	return sel
}

// interceptors builds a source's interceptor chain in list order.
func (b *builder) interceptors(c *conf.Component, log *slog.Logger) []sluice.Interceptor {
	var out []sluice.Interceptor
	for _, ic := range c.Interceptors {
		p := b.res.OfSub(ic)
		env := sluice.Env{Agent: b.cfg.Agent, Name: ic.Name, Logger: log.With("interceptor", ic.Name)}
		if in, ok := construct[sluice.Interceptor](b, p, env, "an interceptor"); ok {
			out = append(out, in)
		}
	}
	return out
}

// sink builds a sink and the core's transaction loop over it, with the
// dead letter its deadLetter.* properties set.
func (b *builder) sink(c *conf.Component, chans map[string]*builtChannel) *builtSink {
	p := b.res.Of(c)
	if p == nil || !p.OK {
		return nil
	}
	bc := chans[c.Channel]
	if bc == nil {
		return nil // the graph already reported the missing channel
	}
	dl, dlOK := b.deadLetter(c, p, chans)
	if !dlOK {
		return nil
	}
	sig := b.sinkSig(c)
	if old := b.reusedSink(c, chans); old != nil {
		return old
	}
	counters := sluice.NewSinkCounters()
	log := b.logger("sink", c.Name)
	env := sluice.Env{Agent: b.cfg.Agent, Name: c.Name, Logger: log,
		Channel: bc.ch, ChannelName: c.Channel, SinkCounters: counters}
	sk, ok := construct[sluice.Sink](b, p, env, "a sink")
	if !ok {
		return nil
	}
	opts := sinkloop.Options{Name: c.Name, Sink: sk, Channel: bc.ch, ChannelName: c.Channel, Counters: counters, Log: log}
	bk := &builtSink{name: c.Name, typ: p.Spec.Name, sink: sk, counters: counters, channel: c.Channel, health: new(health.State), sig: sig}
	switch d := dl.(type) {
	case *deadletter.Dir:
		opts.DeadLetter, bk.dead = d, d
	case *deadletter.Channel:
		opts.DeadLetter = d
	}
	bk.loop = sinkloop.New(opts)
	bk.drain = &watchedDrainer{d: bk.loop, h: bk.health}
	if tc, isT := bc.ch.(sluice.TxnCapacitor); isT && bk.loop.BatchSize() > tc.TransactionCapacity() {
		// Flume drops such a sink at start-up; we refuse to start instead.
		b.add(&conf.Error{Key: p.Key, File: p.At.File, Line: p.At.Line,
			Msg: fmt.Sprintf("batch size %d is larger than channel %s's transactionCapacity %d: raise the channel's transactionCapacity or lower the sink's batch size",
				bk.loop.BatchSize(), c.Channel, tc.TransactionCapacity())})
		return nil
	}
	return bk
}

// deadLetter makes the dead letter a sink's decoded deadLetter.* properties
// ask for; nil when none.
func (b *builder) deadLetter(c *conf.Component, p *conf.Part, chans map[string]*builtChannel) (any, bool) {
	cfg, _ := p.Core.(*deadletter.Config)
	if cfg == nil {
		return nil, true
	}
	at := func(key string) conf.Prop {
		for _, q := range c.Props {
			if q.Key == key {
				return q
			}
		}
		return p.At
	}
	switch {
	case cfg.Directory != "":
		return &deadletter.Dir{Path: cfg.Directory, Sink: c.Name, MaxFileSize: cfg.MaxFileSize}, true
	case cfg.Channel != "":
		q := at("deadLetter.channel")
		if chans[cfg.Channel] == nil {
			b.add(&conf.Error{Key: q.FullKey, File: q.File, Line: q.Line,
				Msg: fmt.Sprintf("dead-letter channel %q is not a channel of agent %s", cfg.Channel, b.cfg.Agent)})
			return nil, false
		}
		if cfg.Channel == c.Channel {
			b.add(&conf.Error{Key: q.FullKey, File: q.File, Line: q.Line,
				Msg: fmt.Sprintf("dead-letter channel %q is the channel the sink drains: rejected events would come straight back", cfg.Channel)})
			return nil, false
		}
		return &deadletter.Channel{Name: cfg.Channel, Channel: chans[cfg.Channel].ch, Sink: c.Name}, true
	}
	return nil, true
}

func (b *builder) group(g *conf.Component, sinks map[string]*builtSink, chans map[string]*builtChannel) *builtRunner {
	var members []sluice.NamedSink
	r := &builtRunner{name: g.Name, group: true}
	for _, n := range g.Sinks {
		bk := sinks[n]
		if bk == nil {
			return nil // reported by the graph or by the sink's own build
		}
		members = append(members, sluice.NamedSink{Name: n, Sink: bk.sink, Drain: bk.drain})
		r.sinks = append(r.sinks, n)
		if bc := chans[bk.channel]; bc != nil {
			r.channels = append(r.channels, bc.ch)
		}
	}
	p := b.res.Of(g)
	r.sig = groupSig(p)
	if old := b.reusedGroup(g, chans); old != nil {
		return old
	}
	env := sluice.Env{Agent: b.cfg.Agent, Name: g.Name, Logger: b.logger("sinkgroup", g.Name), Sinks: members}
	proc, ok := construct[sluice.SinkProcessor](b, p, env, "a sink processor")
	if !ok {
		return nil
	}
	r.proc = proc
	return r
}

// watchedDrainer tells a sink's health state how its transactions end: a
// failed one is a failure, a delivered batch a success (an empty take says
// nothing about the downstream, so it changes nothing).
type watchedDrainer struct {
	d sluice.Drainer
	h *health.State
}

func (w *watchedDrainer) Process(ctx context.Context) (sluice.Status, error) {
	st, err := w.d.Process(ctx)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			w.h.Fail(err)
		}
	case st == sluice.Ready:
		w.h.OK()
	}
	return st, err
}
