package conf

import "github.com/sluiceio/sluice"

// AgentConfig is one agent's component graph as written in the file, before
// any component is built. Names keep the order of the list keys
// (a1.sources = r1 r2).
type AgentConfig struct {
	Agent      string
	Sources    []*Component
	Channels   []*Component
	Sinks      []*Component
	SinkGroups []*Component
	// Problems found while reading and wiring the graph, warnings included.
	// The agent starts only when none of them is an error.
	Errors []*Error
	// System holds -D properties (flume.monitoring.type, ...).
	System map[string]string
	// ConfigFilters are the declared config filters (<agent>.configfilters),
	// already applied to the values above; listed for display only.
	ConfigFilters []*Component
}

// Component is one declared source, channel, sink or sink group.
type Component struct {
	Kind sluice.Kind // KindSource, KindChannel, KindSink or KindSinkProcessor (groups)
	Name string
	// Type is the value of .type (for groups: processor.type, default "default").
	Type     string
	TypeProp Prop // where .type was written; zero if absent
	// Declared is where the name was listed (a1.sources = r1).
	Declared Prop
	// Props are the component's own keys, relative to it, without the keys
	// the graph consumes: type, channels/channel, selector.*, interceptors*,
	// and for groups sinks and processor.*.
	Props []Prop

	// Sources: the channels it writes to, its selector and interceptors.
	Channels     []string
	Selector     *Sub
	Interceptors []*Sub
	// Sinks: the one channel it drains.
	Channel string
	// Sink groups: member sinks; Processor holds processor.* keys.
	Sinks     []string
	Processor *Sub
}

// Sub is a nested component: a selector, an interceptor or a sink processor.
type Sub struct {
	Name     string // interceptor name; empty for selector/processor
	Type     string
	TypeProp Prop
	Props    []Prop // keys relative to the sub-component (mapping.CA = c1)
}

// Errs returns only the errors (not warnings).
func (c *AgentConfig) Errs() []*Error {
	var out []*Error
	for _, e := range c.Errors {
		if !e.Warning {
			out = append(out, e)
		}
	}
	return out
}

// Warnings returns only the warnings.
func (c *AgentConfig) Warnings() []*Error {
	var out []*Error
	for _, e := range c.Errors {
		if e.Warning {
			out = append(out, e)
		}
	}
	return out
}

// Path is the component's key prefix: "a1.sources.r1".
func (c *Component) Path() string {
	return c.Declared.FullKey + "." + c.Name
}
