package selector

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

// MultiplexingConfig holds the multiplexing selector's properties.
type MultiplexingConfig struct {
	Header   string            `flume:"header" doc:"the event header whose value picks the channels"`
	Default  []string          `flume:"default" doc:"channels for events whose header is missing, blank or has no mapping"`
	Mapping  map[string]string `flume:"mapping.*" doc:"mapping.<value> = the required channels for that header value"`
	Optional map[string]string `flume:"optional.*" doc:"optional.<value> = channels also tried for that header value; their failures are ignored"`
}

// DefaultHeader is Flume's default for header.
const DefaultHeader = "flume.selector.header"

// Validate checks what can be checked without the source's channels.
func (c *MultiplexingConfig) Validate() error {
	var errs []error
	if c.Header == "" {
		errs = append(errs, conf.Invalid("header", "must not be empty (the default is %q)", DefaultHeader))
	}
	for _, v := range sortedKeys(c.Mapping) {
		if len(strings.Fields(c.Mapping[v])) == 0 {
			errs = append(errs, conf.Invalid("mapping."+v, "lists no channels; name at least one, or remove the key so %q goes to the default channels", v))
		}
	}
	return errors.Join(errs...)
}

// Multiplexing routes each event by the value of one header.
type Multiplexing struct {
	header   string
	def      []sluice.Channel
	mapping  map[string][]sluice.Channel
	optional map[string][]sluice.Channel
	all      []sluice.Channel
}

var _ sluice.ChannelSelector = (*Multiplexing)(nil)

// NewMultiplexing builds a multiplexing selector over env.Channels.
func NewMultiplexing(env sluice.Env, cfg *MultiplexingConfig) (*Multiplexing, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	set, err := newChannelSet(env)
	if err != nil {
		return nil, err
	}
	var errs []error
	m := &Multiplexing{
		header:   cfg.Header,
		mapping:  make(map[string][]sluice.Channel, len(cfg.Mapping)),
		optional: make(map[string][]sluice.Channel, len(cfg.Optional)),
		all:      set.all,
	}
	m.def, err = set.resolve("default", cfg.Default)
	errs = append(errs, err)
	for _, v := range sortedKeys(cfg.Mapping) {
		chans, err := set.resolve("mapping."+v, strings.Fields(cfg.Mapping[v]))
		errs = append(errs, err)
		m.mapping[v] = chans
	}
	for _, v := range sortedKeys(cfg.Optional) {
		chans, err := set.resolve("optional."+v, strings.Fields(cfg.Optional[v]))
		errs = append(errs, err)
		// A channel that is required for this value stays required only.
		req, ok := m.mapping[v]
		if !ok {
			req = m.def
		}
		if chans = without(chans, req); len(chans) > 0 {
			m.optional[v] = chans
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(m.def) == 0 && env.Logger != nil {
		env.Logger.Warn("multiplexing selector has no default channels: events whose header is missing or has no mapping "+
			"(and no optional channels) are dropped, as in Flume", "header", m.header)
	}
	return m, nil
}

// Required returns the mapped channels for the event's header value, or the
// default channels when the header is missing, blank or unmapped.
func (m *Multiplexing) Required(e *sluice.Event) []sluice.Channel {
	v, ok := e.Headers[m.header]
	if !ok || blank(v) {
		return m.def
	}
	if chans, ok := m.mapping[v]; ok {
		return chans
	}
	return m.def
}

// Optional returns the optional channels configured for the event's exact
// header value, minus those that are required for it.
func (m *Multiplexing) Optional(e *sluice.Event) []sluice.Channel {
	v, ok := e.Headers[m.header]
	if !ok {
		return nil
	}
	return m.optional[v]
}

// All returns the source's channels in source order.
func (m *Multiplexing) All() []sluice.Channel { return m.all }

// blank is Java's trim().isEmpty(): every character is a control
// character or space.
func blank(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] > ' ' {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSelector,
		Name:      "multiplexing",
		Aliases:   []string{"org.apache.flume.channel.MultiplexingChannelSelector"},
		Stability: sluice.Stable,
		Doc: "Routes each event by the value of one header: mapping.<value> lists the channels that must " +
			"take events with that value, optional.<value> channels that are also tried but may fail, and " +
			"default the channels for events whose header is missing, blank or not mapped.",
		Config: func() any { return &MultiplexingConfig{Header: DefaultHeader} },
		New: func(env sluice.Env, cfg any) (any, error) {
			c, ok := cfg.(*MultiplexingConfig)
			if !ok {
				return nil, fmt.Errorf("multiplexing selector: unexpected config type %T", cfg)
			}
			return NewMultiplexing(env, c)
		},
		Notes:   multiplexingNotes,
		Example: "a1.sources.r1.channels = c1 c2\na1.sources.r1.selector.type = multiplexing\na1.sources.r1.selector.header = state\na1.sources.r1.selector.mapping.CZ = c1\na1.sources.r1.selector.mapping.US = c1 c2\na1.sources.r1.selector.optional.CZ = c2\na1.sources.r1.selector.default = c2\n",
	})
}

const multiplexingNotes = `Routing is Flume's, rule for rule:

- Header missing or blank (only spaces or control characters): the default channels.
- A value with a mapping: its channels. A value without one: the default channels.
  Values match exactly (case and surrounding spaces matter).
- optional.<value> applies only to events whose header has exactly that value (never to
  missing headers). A channel both required and optional for a value is required only;
  for a value with no mapping, "required" means the default channels.
- A value with optional channels but no mapping goes to the default channels and is also
  tried on its optional ones. With no default either, it goes to its optional channels only.
- **No default and no optional channels for a value: the event goes nowhere** and the source
  is told it was delivered, as in Flume. Sluice logs a warning at start-up when default is
  not set.

Differences: a mapping, optional or default entry naming a channel that is not one of the
source's channels is a configuration error with a did-you-mean (Flume also refuses it, with
less detail); an empty mapping.<value> is an error (as in Flume); an empty header name is an
error. Channel lists may use any whitespace between names (Flume breaks on two spaces), and a
channel named twice in one list counts once (Flume would write the event into it twice).
A bare "optional" key means nothing to this selector (Flume ignores it too): a warning says so.`
