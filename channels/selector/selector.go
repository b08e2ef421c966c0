// Package selector holds Flume's channel selectors: replicating (the
// default), multiplexing and load_balancing. A selector decides, per event,
// which of its source's channels must take the event (required) and which
// may fail without failing the batch (optional).
//
// Required and Optional run once per event on the source's hot path (once
// per batch for replicating, a sluice.FixedSelector), so every answer is a
// slice built in New and shared: they never allocate.
// Callers must not modify the returned slices.
package selector

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

// channelSet resolves channel names against the source's channels.
type channelSet struct {
	source string
	names  []string
	byName map[string]sluice.Channel
	all    []sluice.Channel
}

func newChannelSet(env sluice.Env) (*channelSet, error) {
	if len(env.Channels) == 0 {
		return nil, fmt.Errorf("source %s has no channels to select from", env.Name)
	}
	s := &channelSet{source: env.Name, byName: make(map[string]sluice.Channel, len(env.Channels))}
	for _, nc := range env.Channels {
		if _, dup := s.byName[nc.Name]; dup {
			continue
		}
		s.byName[nc.Name] = nc.Channel
		s.names = append(s.names, nc.Name)
		s.all = append(s.all, nc.Channel)
	}
	return s, nil
}

// resolve turns a list of names from property key into channels, in the
// order written and without repeats (Flume would put an event twice into a
// channel named twice). Unknown names are errors naming the key.
func (s *channelSet) resolve(key string, names []string) ([]sluice.Channel, error) {
	var out []sluice.Channel
	var errs []error
	for _, n := range names {
		ch, ok := s.byName[n]
		if !ok {
			errs = append(errs, s.unknown(key, n))
			continue
		}
		if !contains(out, ch) {
			out = append(out, ch)
		}
	}
	return out, errors.Join(errs...)
}

func (s *channelSet) unknown(key, name string) error {
	msg := fmt.Sprintf("channel %q is not one of source %s's channels (%s)", name, s.source, strings.Join(s.names, " "))
	if hint := conf.Suggest(name, s.names); hint != "" {
		msg += fmt.Sprintf("; did you mean %q?", hint)
	}
	return conf.Invalid(key, "%s", msg)
}

func contains(list []sluice.Channel, ch sluice.Channel) bool {
	for _, c := range list {
		if c == ch {
			return true
		}
	}
	return false
}

// without returns list minus the channels in drop, keeping order.
func without(list, drop []sluice.Channel) []sluice.Channel {
	var out []sluice.Channel
	for _, c := range list {
		if !contains(drop, c) {
			out = append(out, c)
		}
	}
	return out
}
