package sluice

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
)

// Kind is the role of a component type.
type Kind string

// The kinds of component a configuration can name.
const (
	KindSource        Kind = "source"
	KindChannel       Kind = "channel"
	KindSink          Kind = "sink"
	KindSinkProcessor Kind = "sinkprocessor"
	KindSelector      Kind = "selector"
	KindInterceptor   Kind = "interceptor"
	KindSerializer    Kind = "serializer"
	KindConfigFilter  Kind = "configfilter"
)

// Stability says how settled a component type is.
type Stability string

// Stability levels, as in the generated docs.
const (
	Stable       Stability = "stable"
	Beta         Stability = "beta"
	Experimental Stability = "experimental"
)

// Spec describes one component type. The same spec drives configuration
// decoding, `sluice check`, `sluice list` and the generated docs page, so
// they cannot disagree.
type Spec struct {
	Kind Kind
	// Name is the short type name used in configuration files ("memory").
	Name string
	// Aliases are other accepted names, typically Flume's fully qualified
	// class names ("org.apache.flume.channel.MemoryChannel").
	Aliases   []string
	Stability Stability
	// Doc is a one-paragraph description for the docs page.
	Doc string
	// Factory makes the component: MakeFactory(defaults, New) with a typed
	// config and constructor. Register fills Config and New from it.
	Factory Factory
	// Config returns a pointer to a new config struct holding the defaults.
	// Its fields carry `flume:"key"` tags (see package conf for the tag
	// grammar); it may implement Validate() error. Nil means no properties.
	// Set by Register from Factory.
	Config func() any
	// New builds the component from its decoded, validated config. It must
	// not acquire resources (ports, files, goroutines): Start does that, so
	// that `sluice check` can build a whole agent without side effects. Set
	// by Register from Factory.
	New func(env Env, cfg any) (any, error)
	// Notes is markdown for the docs page: how the component differs from
	// Flume's, and anything a Flume user moving over should know.
	Notes string
	// Example is a complete properties snippet for this component with full
	// keys (a1.sources.r1.type = netcat ...), shown in the docs.
	Example string
}

// ConfigFilter supplies the values of ${name['key']} references in a
// configuration (Flume's config filters: env, external). Filter returns the
// value of key; ok false leaves the reference as written. Notes are shown
// as warnings by `sluice check`; an error is a configuration error.
type ConfigFilter interface {
	Filter(key string) (value string, ok bool, notes []string, err error)
}

// Factory is how a component type is made: a function returning its config
// struct with the defaults, and its constructor. Make one with MakeFactory.
type Factory struct {
	config func() any
	build  func(Env, any) (any, error)
}

// MakeFactory pairs a typed defaults function with a typed constructor. The
// agent decodes the properties into the struct defaults returns, runs its
// Validate, and only then calls build: a constructor gets a valid config,
// a non-nil Env.Logger and its counters, and checks none of them again.
// defaults may be nil for a type without properties (build gets nil).
func MakeFactory[C any, T any](defaults func() *C, build func(env Env, cfg *C) (T, error)) Factory {
	f := Factory{build: func(env Env, cfg any) (any, error) {
		var c *C
		if cfg != nil {
			var ok bool
			if c, ok = cfg.(*C); !ok {
				return nil, fmt.Errorf("internal error: config of type %T given to a constructor of %T", cfg, c)
			}
		}
		return build(env, c)
	}}
	if defaults != nil {
		f.config = func() any { return defaults() }
	}
	return f
}

// Env is what the agent gives a component when it builds it. Logger is
// never nil, nor are the counters of the component's kind.
type Env struct {
	Agent  string // agent name (a1)
	Name   string // component name (r1, c1, k1, i1, ...)
	Logger *slog.Logger

	// Sources: where to put events, and the source's counters.
	Processor      ChannelProcessor
	SourceCounters *SourceCounters
	// Channels: the channel's counters.
	ChannelCounters *ChannelCounters
	// Sinks: the channel to drain and the sink's counters.
	Channel      Channel
	ChannelName  string
	SinkCounters *SinkCounters
	// Selectors: the source's channels, in configuration order.
	Channels []NamedChannel
	// Sink processors: the group's sinks, in configuration order.
	Sinks []NamedSink
	// Config filters: the environment the configuration is read in.
	Getenv func(string) (string, bool)
	// Sub holds the raw sub-properties of a nested component (a serializer's
	// own keys), for components that build nested parts themselves.
	Sub map[string]string
}

// registry is the one piece of global mutable state: component types
// register themselves from init().
var registry = struct {
	sync.RWMutex
	byKind map[Kind]map[string]*Spec // lower-cased name or alias -> spec
	specs  []*Spec
	errs   []error
}{byKind: map[Kind]map[string]*Spec{}}

// Register adds a component type. A name or alias registered twice for the
// same kind is recorded as an error that RegistryErr reports at startup.
func Register(s Spec) {
	registry.Lock()
	defer registry.Unlock()
	if s.Factory.build != nil {
		s.Config, s.New = s.Factory.config, s.Factory.build
	}
	if s.New == nil {
		registry.errs = append(registry.errs, fmt.Errorf("%s type %q registered without a Factory", s.Kind, s.Name))
	}
	m := registry.byKind[s.Kind]
	if m == nil {
		m = map[string]*Spec{}
		registry.byKind[s.Kind] = m
	}
	sp := &s
	for _, n := range append([]string{s.Name}, s.Aliases...) {
		k := strings.ToLower(n)
		if prev, ok := m[k]; ok {
			registry.errs = append(registry.errs, fmt.Errorf("%s type %q registered twice (by %q and %q)", s.Kind, n, prev.Name, s.Name))
			continue
		}
		m[k] = sp
	}
	registry.specs = append(registry.specs, sp)
}

// RegistryErr reports duplicate registrations; main refuses to start on it.
func RegistryErr() error {
	registry.RLock()
	defer registry.RUnlock()
	if len(registry.errs) == 0 {
		return nil
	}
	msgs := make([]string, len(registry.errs))
	for i, e := range registry.errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("component registry: %s", strings.Join(msgs, "; "))
}

// Lookup finds a component type by name or alias, ignoring case as Flume does
// for its type aliases.
func Lookup(kind Kind, name string) (*Spec, bool) {
	registry.RLock()
	defer registry.RUnlock()
	s, ok := registry.byKind[kind][strings.ToLower(strings.TrimSpace(name))]
	return s, ok
}

// Names lists every registered name and alias of a kind, sorted, for
// did-you-mean suggestions.
func Names(kind Kind) []string {
	registry.RLock()
	defer registry.RUnlock()
	var out []string
	for _, s := range registry.specs {
		if s.Kind == kind {
			out = append(out, s.Name)
			out = append(out, s.Aliases...)
		}
	}
	sort.Strings(out)
	return out
}

// Specs lists every registered spec, ordered by kind then name.
func Specs() []*Spec {
	registry.RLock()
	defer registry.RUnlock()
	out := append([]*Spec(nil), registry.specs...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out
}
