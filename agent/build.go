// Package agent builds a running agent from a conf.AgentConfig: it looks up
// every component type in the registry, decodes and validates its
// properties, wires sources through interceptors and selectors to channels
// and channels to sinks, and runs the whole graph with Flume's lifecycle.
package agent

import (
	"fmt"
	"log/slog"
	"reflect"
	"strings"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/deadletter"
	"github.com/sluiceio/sluice/internal/handoff"
	"github.com/sluiceio/sluice/internal/sinkloop"
)

type builtChannel struct {
	name     string
	ch       sluice.Channel
	counters *sluice.ChannelCounters
	typ      string // the registered type (aliases resolved)
	cfg      any    // the decoded properties
}

type builtSource struct {
	name      string
	src       sluice.Source
	counters  *sluice.SourceCounters
	processor *handoff.Processor
}

// builtRunner is one sink runner: a lone sink or a sink group's processor.
type builtRunner struct {
	name     string // sink name, or group name
	group    bool
	sink     sluice.Drainer       // lone sink: its transaction loop
	proc     sluice.SinkProcessor // group
	channels []sluice.Channel     // what its sinks drain, for wake-ups
	sinks    []string
}

type builtSink struct {
	name     string
	sink     sluice.Sink
	loop     *sinkloop.Loop
	counters *sluice.SinkCounters
	channel  string
	dead     *deadletter.Dir // a dead-letter directory, closed at stop
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
	if log == nil {
		log = slog.Default()
	}
	b := &builder{cfg: cfg, log: log, errs: append([]*conf.Error(nil), cfg.Errors...)}
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
		r := &builtRunner{name: k.Name, sink: bk.loop, sinks: []string{k.Name}}
		if bc := chans[bk.channel]; bc != nil {
			r.channels = []sluice.Channel{bc.ch}
		}
		a.runners = append(a.runners, r)
	}
	if len(cfg.Sources) == 0 && len(cfg.Sinks) == 0 && len(b.errs) == 0 {
		b.errs = append(b.errs, &conf.Error{Key: cfg.Agent, Msg: "the agent has no sources and no sinks: nothing would run"})
	}
	conf.SortErrors(b.errs)
	return a, b.errs
}

type builder struct {
	cfg  *conf.AgentConfig
	log  *slog.Logger
	errs []*conf.Error
	prev map[string]*builtChannel // the replaced agent's channels, by name
}

func (b *builder) add(e *conf.Error) { b.errs = append(b.errs, e) }

// prefix is the full key of a component: a1.sources.r1.
func (b *builder) prefix(c *conf.Component) string {
	kind := map[sluice.Kind]string{sluice.KindSource: "sources", sluice.KindChannel: "channels",
		sluice.KindSink: "sinks", sluice.KindSinkProcessor: "sinkgroups"}[c.Kind]
	return b.cfg.Agent + "." + kind + "." + c.Name + "."
}

// lookup finds a type in the registry, or records an error with a suggestion.
func (b *builder) lookup(kind sluice.Kind, typ string, key string, at conf.Prop) *sluice.Spec {
	if spec, ok := sluice.Lookup(kind, typ); ok {
		return spec
	}
	if strings.TrimSpace(typ) == "" {
		return nil // the graph reported the missing type, at its line
	}
	msg := fmt.Sprintf("unknown %s type %q", kindWord(kind), typ)
	if s := conf.Suggest(typ, sluice.Names(kind)); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else if names := shortNames(kind); len(names) > 0 {
		msg += fmt.Sprintf(" (known: %s)", strings.Join(names, ", "))
	}
	b.add(&conf.Error{Key: key, File: at.File, Line: at.Line, Msg: msg})
	return nil
}

func kindWord(k sluice.Kind) string {
	switch k {
	case sluice.KindSinkProcessor:
		return "sink processor"
	case sluice.KindSelector:
		return "channel selector"
	}
	return string(k)
}

func shortNames(kind sluice.Kind) []string {
	var out []string
	for _, s := range sluice.Specs() {
		if s.Kind == kind {
			out = append(out, s.Name)
		}
	}
	return out
}

// decode builds a component's config from its properties, positioning every
// error at the full key and file:line.
func (b *builder) decode(spec *sluice.Spec, props []conf.Prop, prefix string, at conf.Prop) (any, bool) {
	if spec.Config == nil {
		for _, p := range props {
			b.add(&conf.Error{Key: p.FullKey, File: p.File, Line: p.Line, Warning: true,
				Msg: fmt.Sprintf("unknown property %q: type %s takes no properties", p.Key, spec.Name)})
		}
		return nil, true
	}
	cfg := spec.Config()
	ok := true
	for _, e := range conf.Decode(cfg, props) {
		if e.File == "" && !isFullKey(e.Key, props) {
			// Relative (a missing key), or no key at all: a problem of the
			// component as a whole, shown at its type line.
			if e.Key == "" {
				e.Key = "type"
			}
			e.Key = prefix + e.Key
			e.File, e.Line = at.File, at.Line
		}
		if !e.Warning {
			ok = false
		}
		b.add(e)
	}
	return cfg, ok
}

// isFullKey reports whether key is the full key of one of props (an error
// already positioned at a property set without a file, such as an override).
// Testing the agent-name prefix instead would misread relative keys that
// begin like the agent's name (agent "sink", key "sink.directory").
func isFullKey(key string, props []conf.Prop) bool {
	for _, p := range props {
		if key != "" && p.FullKey == key {
			return true
		}
	}
	return false
}

func (b *builder) newComponent(spec *sluice.Spec, env sluice.Env, cfg any, key string, at conf.Prop, props []conf.Prop) any {
	v, err := spec.New(env, cfg)
	if err != nil {
		// Errors that name a property point at it; others at the type line.
		prefix := strings.TrimSuffix(key, "type")
		for _, e := range conf.Position(err, props) {
			if e.File == "" && !isFullKey(e.Key, props) {
				if e.Key != "" {
					e.Key = prefix + e.Key
				} else {
					e.Key = key
				}
				e.File, e.Line = at.File, at.Line
			}
			b.add(e)
		}
		return nil
	}
	return v
}

func (b *builder) logger(kind, name string) *slog.Logger {
	return b.log.With(kind, name)
}

func (b *builder) channel(c *conf.Component) *builtChannel {
	key := b.prefix(c) + "type"
	spec := b.lookup(sluice.KindChannel, c.Type, key, c.TypeProp)
	if spec == nil {
		return nil
	}
	cfg, ok := b.decode(spec, c.Props, b.prefix(c), c.TypeProp)
	if !ok {
		return nil
	}
	if old := b.prev[c.Name]; old != nil && old.typ == spec.Name && reflect.DeepEqual(old.cfg, cfg) {
		if k, ok := old.ch.(sluice.Keeper); ok && k.KeepOnReload() {
			b.log.Info("channel unchanged by the reload: kept with its events", "channel", c.Name)
			return old
		}
	}
	counters := sluice.NewChannelCounters()
	env := sluice.Env{Agent: b.cfg.Agent, Name: c.Name, Logger: b.logger("channel", c.Name), ChannelCounters: counters}
	v := b.newComponent(spec, env, cfg, key, c.TypeProp, c.Props)
	if v == nil {
		return nil
	}
	ch, isCh := v.(sluice.Channel)
	if !isCh {
		b.add(&conf.Error{Key: key, File: c.TypeProp.File, Line: c.TypeProp.Line, Msg: fmt.Sprintf("type %q is not a channel", c.Type)})
		return nil
	}
	return &builtChannel{name: c.Name, ch: ch, counters: counters, typ: spec.Name, cfg: cfg}
}

// source builds a source in the order its parts depend on each other: the
// channels it names, its selector, its interceptors, the hand-off that ties
// them together, then the source itself.
func (b *builder) source(c *conf.Component, chans map[string]*builtChannel) *builtSource {
	key := b.prefix(c) + "type"
	spec := b.lookup(sluice.KindSource, c.Type, key, c.TypeProp)
	var named []sluice.NamedChannel
	for _, n := range c.Channels {
		if bc := chans[n]; bc != nil {
			named = append(named, sluice.NamedChannel{Name: n, Channel: bc.ch})
		}
	}
	counters := sluice.NewSourceCounters()
	log := b.logger("source", c.Name)
	sel := b.selector(c, named, log)
	interceptors := b.interceptors(c, log)
	if spec == nil {
		return nil
	}
	cfg, ok := b.decode(spec, c.Props, b.prefix(c), c.TypeProp)
	if !ok {
		return nil
	}
	proc := handoff.New(c.Name, sel, interceptors, counters, log)
	env := sluice.Env{Agent: b.cfg.Agent, Name: c.Name, Logger: log, Processor: proc, SourceCounters: counters, Channels: named}
	v := b.newComponent(spec, env, cfg, key, c.TypeProp, c.Props)
	if v == nil {
		return nil
	}
	src, isSrc := v.(sluice.Source)
	if !isSrc {
		b.add(&conf.Error{Key: key, File: c.TypeProp.File, Line: c.TypeProp.Line, Msg: fmt.Sprintf("type %q is not a source", c.Type)})
		return nil
	}
	return &builtSource{name: c.Name, src: src, counters: counters, processor: proc}
}

// selector builds a source's channel selector: replicating unless
// configured. Nil when it cannot be built (the error is recorded).
func (b *builder) selector(c *conf.Component, named []sluice.NamedChannel, log *slog.Logger) sluice.ChannelSelector {
	selType, selAt := "replicating", c.TypeProp
	var selProps []conf.Prop
	if c.Selector != nil {
		if c.Selector.Type != "" {
			selType, selAt = c.Selector.Type, c.Selector.TypeProp
		}
		selProps = c.Selector.Props
	}
	sspec := b.lookup(sluice.KindSelector, selType, b.prefix(c)+"selector.type", selAt)
	if sspec == nil || len(named) != len(c.Channels) || len(named) == 0 {
		return nil
	}
	scfg, ok := b.decode(sspec, selProps, b.prefix(c)+"selector.", selAt)
	if !ok {
		return nil
	}
	env := sluice.Env{Agent: b.cfg.Agent, Name: c.Name, Logger: log, Channels: named}
	v := b.newComponent(sspec, env, scfg, b.prefix(c)+"selector.type", selAt, selProps)
	sel, _ := v.(sluice.ChannelSelector)
	return sel
}

// interceptors builds a source's interceptor chain in list order.
func (b *builder) interceptors(c *conf.Component, log *slog.Logger) []sluice.Interceptor {
	var out []sluice.Interceptor
	for _, ic := range c.Interceptors {
		ikey := b.prefix(c) + "interceptors." + ic.Name + "."
		ispec := b.lookup(sluice.KindInterceptor, ic.Type, ikey+"type", ic.TypeProp)
		if ispec == nil {
			continue
		}
		icfg, ok := b.decode(ispec, ic.Props, ikey, ic.TypeProp)
		if !ok {
			continue
		}
		env := sluice.Env{Agent: b.cfg.Agent, Name: ic.Name, Logger: log.With("interceptor", ic.Name)}
		v := b.newComponent(ispec, env, icfg, ikey+"type", ic.TypeProp, ic.Props)
		if v == nil {
			continue
		}
		in, isIn := v.(sluice.Interceptor)
		if !isIn {
			b.add(&conf.Error{Key: ikey + "type", File: ic.TypeProp.File, Line: ic.TypeProp.Line, Msg: fmt.Sprintf("type %q is not an interceptor", ic.Type)})
			continue
		}
		out = append(out, in)
	}
	return out
}

// sink builds a sink and the core's transaction loop over it. The
// deadLetter.* properties belong to the loop, not to the sink.
func (b *builder) sink(c *conf.Component, chans map[string]*builtChannel) *builtSink {
	key := b.prefix(c) + "type"
	spec := b.lookup(sluice.KindSink, c.Type, key, c.TypeProp)
	if spec == nil {
		return nil
	}
	var own, dlProps []conf.Prop
	for _, p := range c.Props {
		if strings.HasPrefix(p.Key, "deadLetter.") {
			dlProps = append(dlProps, p)
		} else {
			own = append(own, p)
		}
	}
	dl, dlOK := b.deadLetter(c, dlProps, chans)
	cfg, ok := b.decode(spec, own, b.prefix(c), c.TypeProp)
	if !ok || !dlOK {
		return nil
	}
	bc := chans[c.Channel]
	if bc == nil {
		return nil // the graph already reported the missing channel
	}
	counters := sluice.NewSinkCounters()
	log := b.logger("sink", c.Name)
	env := sluice.Env{Agent: b.cfg.Agent, Name: c.Name, Logger: log,
		Channel: bc.ch, ChannelName: c.Channel, SinkCounters: counters}
	v := b.newComponent(spec, env, cfg, key, c.TypeProp, own)
	if v == nil {
		return nil
	}
	sk, isSink := v.(sluice.Sink)
	if !isSink {
		b.add(&conf.Error{Key: key, File: c.TypeProp.File, Line: c.TypeProp.Line, Msg: fmt.Sprintf("type %q is not a sink", c.Type)})
		return nil
	}
	opts := sinkloop.Options{Name: c.Name, Sink: sk, Channel: bc.ch, ChannelName: c.Channel, Counters: counters, Log: log}
	bk := &builtSink{name: c.Name, sink: sk, counters: counters, channel: c.Channel}
	switch d := dl.(type) {
	case *deadletter.Dir:
		opts.DeadLetter, bk.dead = d, d
	case *deadletter.Channel:
		opts.DeadLetter = d
	}
	bk.loop = sinkloop.New(opts)
	if tc, isT := bc.ch.(sluice.TxnCapacitor); isT && bk.loop.BatchSize() > tc.TransactionCapacity() {
		// Flume drops such a sink at start-up; we refuse to start instead.
		b.add(&conf.Error{Key: b.prefix(c) + "type", File: c.TypeProp.File, Line: c.TypeProp.Line,
			Msg: fmt.Sprintf("batch size %d is larger than channel %s's transactionCapacity %d: raise the channel's transactionCapacity or lower the sink's batch size",
				bk.loop.BatchSize(), c.Channel, tc.TransactionCapacity())})
		return nil
	}
	return bk
}

// deadLetter decodes a sink's deadLetter.* properties. The result is nil
// when none is configured.
func (b *builder) deadLetter(c *conf.Component, props []conf.Prop, chans map[string]*builtChannel) (any, bool) {
	if len(props) == 0 {
		return nil, true
	}
	cfg := deadletter.Defaults()
	ok := true
	for _, e := range conf.Decode(cfg, props) {
		if e.File == "" && !isFullKey(e.Key, props) {
			e.Key = b.prefix(c) + strings.TrimPrefix(e.Key, b.prefix(c))
			e.File, e.Line = props[0].File, props[0].Line
		}
		if !e.Warning {
			ok = false
		}
		b.add(e)
	}
	if !ok {
		return nil, false
	}
	switch {
	case cfg.Directory != "":
		return &deadletter.Dir{Path: cfg.Directory, Sink: c.Name, MaxFileSize: cfg.MaxFileSize}, true
	case cfg.Channel != "":
		bc := chans[cfg.Channel]
		if bc == nil {
			p := props[0]
			for _, q := range props {
				if q.Key == "deadLetter.channel" {
					p = q
				}
			}
			b.add(&conf.Error{Key: p.FullKey, File: p.File, Line: p.Line,
				Msg: fmt.Sprintf("dead-letter channel %q is not a channel of agent %s", cfg.Channel, b.cfg.Agent)})
			return nil, false
		}
		if cfg.Channel == c.Channel {
			p := props[0]
			b.add(&conf.Error{Key: p.FullKey, File: p.File, Line: p.Line,
				Msg: fmt.Sprintf("dead-letter channel %q is the channel the sink drains: rejected events would come straight back", cfg.Channel)})
			return nil, false
		}
		return &deadletter.Channel{Name: cfg.Channel, Channel: bc.ch, Sink: c.Name}, true
	}
	return nil, true
}

func (b *builder) group(g *conf.Component, sinks map[string]*builtSink, chans map[string]*builtChannel) *builtRunner {
	typ, at := "default", g.Declared
	var props []conf.Prop
	if g.Processor != nil {
		if g.Processor.Type != "" {
			typ, at = g.Processor.Type, g.Processor.TypeProp
		}
		props = g.Processor.Props
	}
	key := b.prefix(g) + "processor.type"
	spec := b.lookup(sluice.KindSinkProcessor, typ, key, at)
	var members []sluice.NamedSink
	r := &builtRunner{name: g.Name, group: true}
	for _, n := range g.Sinks {
		bk := sinks[n]
		if bk == nil {
			return nil // reported by the graph or by the sink's own build
		}
		members = append(members, sluice.NamedSink{Name: n, Sink: bk.sink, Drain: bk.loop})
		r.sinks = append(r.sinks, n)
		if bc := chans[bk.channel]; bc != nil {
			r.channels = append(r.channels, bc.ch)
		}
	}
	if spec == nil {
		return nil
	}
	cfg, ok := b.decode(spec, props, b.prefix(g)+"processor.", at)
	if !ok {
		return nil
	}
	env := sluice.Env{Agent: b.cfg.Agent, Name: g.Name, Logger: b.logger("sinkgroup", g.Name), Sinks: members}
	v := b.newComponent(spec, env, cfg, key, at, props)
	if v == nil {
		return nil
	}
	p, isP := v.(sluice.SinkProcessor)
	if !isP {
		b.add(&conf.Error{Key: key, File: at.File, Line: at.Line, Msg: fmt.Sprintf("type %q is not a sink processor", typ)})
		return nil
	}
	r.proc = p
	return r
}
