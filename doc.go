// Package sluice holds the vocabulary every other package shares: Event,
// Channel and Transaction, Source, Sink, Interceptor, ChannelSelector,
// SinkProcessor, component counters, and the registry of component types.
//
// The interfaces are deliberately small. Extra abilities (a channel that can
// wake its sinks, a component that reports health) are optional interfaces
// discovered by type assertion, so adding one never breaks existing
// components.
package sluice
