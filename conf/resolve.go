package conf

import (
	"fmt"
	"strings"

	"github.com/sluiceio/sluice"
)

// Part is one part of an agent's graph — a source, channel, sink, a
// source's selector or interceptor, a sink group's processor — with its
// type looked up in the registry and its properties decoded and validated.
type Part struct {
	Kind   sluice.Kind
	Name   string
	Type   string
	Key    string // the full key of its type: a1.sinks.k1.type
	At     Prop   // where the type was written (or the part declared)
	Spec   *sluice.Spec
	Config any    // the decoded config; nil for a type without properties
	Props  []Prop // the properties the component got
	// Core is the decoded core properties of its kind (a sink's
	// deadLetter.*), when the resolver was told of some and any were set.
	Core any
	// OK: the type was found and everything decoded without an error.
	OK bool
}

// CoreProps are properties every component of a kind takes, handled by the
// core rather than by the component (a sink's deadLetter.*): keys under
// Prefix decode into the struct Defaults returns.
type CoreProps struct {
	Prefix   string
	Defaults func() any
}

// Resolved is an agent's graph, decoded: every part of it, by the graph
// node it came from.
type Resolved struct {
	parts map[any]*Part
}

// Of returns the decoded part of a source, channel, sink or sink group
// (for a group: its processor).
func (r *Resolved) Of(c *Component) *Part { return r.parts[c] }

// OfSub returns the decoded part of a selector or an interceptor.
func (r *Resolved) OfSub(s *Sub) *Part { return r.parts[s] }

// Selector returns the decoded selector of source c (replicating when the
// file names none).
func (r *Resolved) Selector(c *Component) *Part { return r.parts[selectorKey{c}] }

type selectorKey struct{ c *Component }

// Resolve looks up the type of every part of cfg and decodes its
// properties, in one pass, before anything is built. It returns every
// problem, positioned at the full key and file:line.
func Resolve(cfg *AgentConfig, core map[sluice.Kind]CoreProps) (*Resolved, []*Error) {
	r := &resolving{agent: cfg.Agent, core: core, out: &Resolved{parts: map[any]*Part{}}}
	for _, c := range cfg.Channels {
		r.out.parts[c] = r.part(sluice.KindChannel, c.Name, c.Type, r.prefix(c), c.TypeProp, c.Props)
	}
	for _, c := range cfg.Sources {
		selType, selAt := "replicating", c.TypeProp
		var selProps []Prop
		if c.Selector != nil {
			if c.Selector.Type != "" {
				selType, selAt = c.Selector.Type, c.Selector.TypeProp
			}
			selProps = c.Selector.Props
		}
		r.out.parts[selectorKey{c}] = r.part(sluice.KindSelector, c.Name, selType, r.prefix(c)+"selector.", selAt, selProps)
		for _, ic := range c.Interceptors {
			r.out.parts[ic] = r.part(sluice.KindInterceptor, ic.Name, ic.Type, r.prefix(c)+"interceptors."+ic.Name+".", ic.TypeProp, ic.Props)
		}
		r.out.parts[c] = r.part(sluice.KindSource, c.Name, c.Type, r.prefix(c), c.TypeProp, c.Props)
	}
	for _, c := range cfg.Sinks {
		r.out.parts[c] = r.part(sluice.KindSink, c.Name, c.Type, r.prefix(c), c.TypeProp, c.Props)
	}
	for _, g := range cfg.SinkGroups {
		typ, at := "default", g.Declared
		var props []Prop
		if g.Processor != nil {
			if g.Processor.Type != "" {
				typ, at = g.Processor.Type, g.Processor.TypeProp
			}
			props = g.Processor.Props
		}
		r.out.parts[g] = r.part(sluice.KindSinkProcessor, g.Name, typ, r.prefix(g)+"processor.", at, props)
	}
	return r.out, r.errs
}

type resolving struct {
	agent string
	core  map[sluice.Kind]CoreProps
	out   *Resolved
	errs  []*Error
}

func (r *resolving) add(e *Error) { r.errs = append(r.errs, e) }

// prefix is the full key of a component: a1.sources.r1.
func (r *resolving) prefix(c *Component) string {
	kind := map[sluice.Kind]string{sluice.KindSource: "sources", sluice.KindChannel: "channels",
		sluice.KindSink: "sinks", sluice.KindSinkProcessor: "sinkgroups"}[c.Kind]
	return r.agent + "." + kind + "." + c.Name + "."
}

func (r *resolving) part(kind sluice.Kind, name, typ, prefix string, at Prop, props []Prop) *Part {
	p := &Part{Kind: kind, Name: name, Type: typ, Key: prefix + "type", At: at, Props: props}
	p.Spec = r.lookup(kind, typ, p.Key, at)
	if p.Spec == nil {
		return p
	}
	ok := true
	if cp, has := r.core[kind]; has {
		var own, coreProps []Prop
		for _, q := range props {
			if strings.HasPrefix(q.Key, cp.Prefix) {
				coreProps = append(coreProps, q)
			} else {
				own = append(own, q)
			}
		}
		p.Props = own
		if len(coreProps) > 0 {
			p.Core = cp.Defaults()
			ok = r.decode(p.Core, coreProps, prefix, at)
		}
	}
	if p.Spec.Config == nil {
		for _, q := range p.Props {
			r.add(&Error{Key: q.FullKey, File: q.File, Line: q.Line, Warning: true,
				Msg: fmt.Sprintf("unknown property %q: type %s takes no properties", q.Key, p.Spec.Name)})
		}
		p.OK = ok
		return p
	}
	p.Config = p.Spec.Config()
	p.OK = r.decode(p.Config, p.Props, prefix, at) && ok
	return p
}

// lookup finds a type in the registry, or records an error with a
// suggestion. A missing type is the graph's to report.
func (r *resolving) lookup(kind sluice.Kind, typ string, key string, at Prop) *sluice.Spec {
	if spec, ok := sluice.Lookup(kind, typ); ok {
		return spec
	}
	if strings.TrimSpace(typ) == "" {
		return nil
	}
	msg := fmt.Sprintf("unknown %s type %q", typeKindWord(kind), typ)
	if s := Suggest(typ, sluice.Names(kind)); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else if names := shortNames(kind); len(names) > 0 {
		msg += fmt.Sprintf(" (known: %s)", strings.Join(names, ", "))
	}
	r.add(&Error{Key: key, File: at.File, Line: at.Line, Msg: msg})
	return nil
}

// decode sets cfg from props, positioning every problem; false when one
// is an error.
func (r *resolving) decode(cfg any, props []Prop, prefix string, at Prop) bool {
	ok := true
	for _, e := range Decode(cfg, props) {
		position(e, props, prefix, at)
		if !e.Warning {
			ok = false
		}
		r.add(e)
	}
	return ok
}

// position puts a problem that names no written property (a missing key,
// or none at all) at the part's type line, under its full key.
func position(e *Error, props []Prop, prefix string, at Prop) {
	if e.File != "" || isFullKey(e.Key, props) {
		return
	}
	if e.Key == "" {
		e.Key = "type"
	}
	if !strings.HasPrefix(e.Key, prefix) {
		e.Key = prefix + e.Key
	}
	e.File, e.Line = at.File, at.Line
}

// BuildErrors positions what the part's constructor returned: errors that
// name a property point at it, others at the type line.
func (p *Part) BuildErrors(err error) []*Error {
	prefix := strings.TrimSuffix(p.Key, "type")
	out := Position(err, p.Props)
	for _, e := range out {
		position(e, p.Props, prefix, p.At)
	}
	return out
}

// isFullKey reports whether key is the full key of one of props (an error
// already positioned at a property set without a file, such as an override).
// Testing the agent-name prefix instead would misread relative keys that
// begin like the agent's name (agent "sink", key "sink.directory").
func isFullKey(key string, props []Prop) bool {
	for _, p := range props {
		if key != "" && p.FullKey == key {
			return true
		}
	}
	return false
}

func typeKindWord(k sluice.Kind) string {
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
