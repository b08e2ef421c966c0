package all_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluiceio/sluice"
	_ "github.com/sluiceio/sluice/all"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

// exampleProps extracts the properties of the spec's own component from its
// Example snippet (keys relative to the component), with ports moved to 0
// and directories into a temporary folder so the component can really start.
func exampleProps(t *testing.T, s *sluice.Spec) []conf.Prop {
	var props []conf.Prop
	for i, line := range strings.Split(s.Example, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s %s: example line %d is not key = value: %q", s.Kind, s.Name, i+1, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		parts := strings.SplitN(k, ".", 4)
		if len(parts) < 4 {
			continue
		}
		rel := parts[3]
		switch s.Kind {
		case sluice.KindSelector:
			r, ok := strings.CutPrefix(rel, "selector.")
			if !ok {
				continue
			}
			rel = r
		case sluice.KindInterceptor:
			// a1.sources.r1.interceptors.i1.key
			sub := strings.SplitN(rel, ".", 3)
			if len(sub) < 3 || sub[0] != "interceptors" {
				continue
			}
			rel = sub[2]
		case sluice.KindSinkProcessor:
			r, ok := strings.CutPrefix(rel, "processor.")
			if !ok {
				continue
			}
			rel = r
		case sluice.KindSerializer:
			idx := strings.Index(rel, "serializer.")
			if idx < 0 {
				continue
			}
			rel = rel[idx+len("serializer."):]
		default:
			if rel == "channels" || rel == "channel" || strings.HasPrefix(rel, "selector.") || strings.HasPrefix(rel, "interceptors") {
				continue
			}
		}
		if rel == "type" {
			continue
		}
		low := strings.ToLower(rel)
		switch {
		case strings.HasSuffix(low, "port"):
			v = "0"
		case strings.HasSuffix(low, "directory") || strings.HasSuffix(low, "dir") || strings.HasSuffix(low, "dirs"):
			v = filepath.Join(t.TempDir(), "d")
		}
		props = append(props, conf.Prop{Key: rel, FullKey: k, Value: v, File: "example", Line: i + 1})
	}
	return props
}

// Every registered component: its example decodes without error, it builds,
// its properties are documented, and (for running kinds) it goes through
// start -> stop -> stop again.
func TestEveryComponentLifecycle(t *testing.T) {
	specs := sluice.Specs()
	if len(specs) < 20 {
		t.Fatalf("only %d component types registered", len(specs))
	}
	if err := sluice.RegistryErr(); err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		t.Run(string(s.Kind)+"/"+s.Name, func(t *testing.T) {
			if s.Doc == "" {
				t.Error("spec has no Doc")
			}
			if s.Example == "" && s.Kind != sluice.KindSerializer {
				t.Error("spec has no Example")
			}
			var cfg any
			if s.Config != nil {
				cfg = s.Config()
				for _, f := range conf.Fields(cfg) {
					if f.Doc == "" {
						t.Errorf("property %q has no doc", f.Key)
					}
				}
				for _, e := range conf.Decode(cfg, exampleProps(t, s)) {
					if !e.Warning {
						t.Errorf("example does not decode: %v", e)
					}
				}
			}
			env := sluicetest.Env("x")
			ch := sluicetest.NewChannel()
			env.Channel, env.ChannelName = ch, "c1"
			env.Processor = sluicetest.NewProcessor()
			env.Channels = []sluice.NamedChannel{{Name: "c1", Channel: ch}, {Name: "c2", Channel: sluicetest.NewChannel()}}
			env.Sinks = []sluice.NamedSink{{Name: "k1", Sink: nopSink{}, Drain: nopSink{}}, {Name: "k2", Sink: nopSink{}, Drain: nopSink{}}}
			if s.Kind == sluice.KindSinkProcessor && s.Name == "default" {
				env.Sinks = env.Sinks[:1] // the default processor runs exactly one sink
			}
			v, err := s.New(env, cfg)
			if err != nil {
				t.Fatalf("New with the example's properties: %v", err)
			}
			ok := true
			switch s.Kind {
			case sluice.KindSource:
				_, ok = v.(sluice.Source)
			case sluice.KindChannel:
				_, ok = v.(sluice.Channel)
			case sluice.KindSink:
				_, ok = v.(sluice.Sink)
			case sluice.KindSinkProcessor:
				_, ok = v.(sluice.SinkProcessor)
			case sluice.KindSelector:
				_, ok = v.(sluice.ChannelSelector)
			case sluice.KindInterceptor:
				_, ok = v.(sluice.Interceptor)
			}
			if !ok {
				t.Fatalf("New returned %T, which is not a %s", v, s.Kind)
			}
			if l, isL := v.(sluice.Lifecycle); isL {
				ctx := context.Background()
				if err := l.Stop(ctx); err != nil {
					t.Errorf("Stop before Start: %v", err)
				}
				if s.Kind == sluice.KindSource && strings.Contains(s.Name, "exec") {
					return // exec's example command is not run here; its own tests run real commands
				}
				if err := l.Start(ctx); err != nil {
					t.Fatalf("Start: %v", err)
				}
				if err := l.Stop(ctx); err != nil {
					t.Errorf("Stop: %v", err)
				}
				if err := l.Stop(ctx); err != nil {
					t.Errorf("second Stop: %v", err)
				}
			}
		})
	}
}

type nopSink struct{}

func (nopSink) Start(context.Context) error                    { return nil }
func (nopSink) Stop(context.Context) error                     { return nil }
func (nopSink) Process(context.Context) (sluice.Status, error) { return sluice.Backoff, nil }
func (nopSink) Deliver(context.Context, []*sluice.Event) error { return nil }
