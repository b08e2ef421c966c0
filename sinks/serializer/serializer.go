// Package serializer defines how sinks that write byte streams (file_roll,
// hdfs with fileType DataStream/CompressedStream) turn events into bytes, and
// registers the text serializers. Serializer types are registered with the
// core registry under kind sluice.KindSerializer; their Spec.New returns a
// Builder, which the sink calls once per file it opens.
//
// A driver uses a Serializer the way Flume's EventSerializer contract says:
//
//	s, err := build(w)     // w is the sink's buffered writer for a new file
//	s.AfterCreate()        // header (a container format's magic and schema)
//	s.Write(e) ...         // one call per event
//	s.Flush()              // before the sink flushes w and commits
//	s.BeforeClose()        // trailer, then the sink flushes w and closes
//
// Serializers do not own or close w, and do no I/O of their own beyond
// writing to it; durability (flush, fsync) is the driver's business.
package serializer

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

// Serializer writes events to the stream it was built on.
type Serializer interface {
	// AfterCreate writes any header a new file needs.
	AfterCreate() error
	// Write serializes one event.
	Write(e *sluice.Event) error
	// Flush pushes anything the serializer buffers itself (a container
	// format's pending block) into the underlying writer.
	Flush() error
	// BeforeClose writes any trailer. It must not leave data buffered: the
	// driver does not call Flush after it.
	BeforeClose() error
}

// Reopener is implemented by serializers whose format allows appending to a
// file written earlier (Flume's supportsReopen). AfterReopen replaces
// AfterCreate when a driver opens an existing file for append.
type Reopener interface {
	AfterReopen() error
}

// Builder makes a Serializer over w. It is what a serializer Spec's New
// returns; the sink calls it once for every file it opens.
type Builder func(w io.Writer) (Serializer, error)

// Lookup finds a serializer type by name or alias, ignoring case (Flume
// upper-cases its enum names: TEXT, HEADER_AND_TEXT, AVRO_EVENT).
func Lookup(name string) (*sluice.Spec, error) {
	if sp, ok := sluice.Lookup(sluice.KindSerializer, name); ok {
		return sp, nil
	}
	msg := fmt.Sprintf("unknown serializer %q", name)
	if s := conf.Suggest(name, sluice.Names(sluice.KindSerializer)); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else if names := shortNames(); len(names) > 0 {
		msg += " (known: " + strings.Join(names, ", ") + ")"
	}
	return nil, errors.New(msg)
}

func shortNames() []string {
	var out []string
	for _, sp := range sluice.Specs() {
		if sp.Kind == sluice.KindSerializer {
			out = append(out, sp.Name)
		}
	}
	sort.Strings(out)
	return out
}

// Check validates a serializer choice and its options without building
// anything, for a sink config's Validate. key is the property that names the
// serializer ("sink.serializer"); props are its sub-properties with that
// prefix removed ("appendNewline"). Errors are conf.Invalid errors keyed by
// the full relative property (key + "." + sub-key), so the loader can point
// at the line.
func Check(key, name string, props map[string]string) error {
	_, _, _, err := decode(key, name, props)
	return err
}

// New resolves the serializer named name, decodes its options from props
// (keys relative to the serializer prefix) and returns its Builder. Unknown
// option keys are logged as warnings, as the loader does for components.
func New(env sluice.Env, key, name string, props map[string]string) (Builder, error) {
	sp, cfg, warns, err := decode(key, name, props)
	if err != nil {
		return nil, err
	}
	if env.Logger != nil {
		for _, w := range warns {
			env.Logger.Warn(w)
		}
	}
	if sp.New == nil {
		return nil, fmt.Errorf("%s: serializer %q cannot be built", key, sp.Name)
	}
	sub := env
	sub.Sub = props
	v, err := sp.New(sub, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: serializer %q: %w", key, sp.Name, err)
	}
	b, ok := v.(Builder)
	if !ok {
		return nil, fmt.Errorf("%s: serializer %q does not return a serializer.Builder (got %T)", key, sp.Name, v)
	}
	return b, nil
}

// decode resolves the type and decodes props into its config struct. It
// returns hard errors keyed for the loader, and unknown keys as warnings.
func decode(key, name string, props map[string]string) (sp *sluice.Spec, cfg any, warns []string, err error) {
	sp, err = Lookup(name)
	if err != nil {
		return nil, nil, nil, conf.Invalid(key, "%s", err.Error())
	}
	if sp.Config != nil {
		cfg = sp.Config()
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if cfg == nil {
		for _, k := range keys {
			warns = append(warns, fmt.Sprintf("%s.%s: serializer %q has no property %q", key, k, sp.Name, k))
		}
		return sp, nil, warns, nil
	}
	ps := make([]conf.Prop, 0, len(keys))
	for _, k := range keys {
		// FullKey is the serializer-relative key: errors are re-keyed below.
		ps = append(ps, conf.Prop{Key: k, FullKey: k, Value: props[k]})
	}
	var errs []error
	for _, e := range conf.Decode(cfg, ps) {
		switch {
		case e.Warning:
			warns = append(warns, fmt.Sprintf("%s.%s: %s", key, e.Key, e.Msg))
		case e.Key == "":
			errs = append(errs, fmt.Errorf("%s: %s", key, e.Msg))
		default:
			errs = append(errs, conf.Invalid(key+"."+e.Key, "%s", e.Msg))
		}
	}
	if len(errs) > 0 {
		return nil, nil, warns, errors.Join(errs...)
	}
	return sp, cfg, warns, nil
}
