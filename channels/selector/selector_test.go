package selector

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

// fixture is a source with named channels; names maps a channel back to
// its name so results read as "c1 c2".
type fixture struct {
	env   sluice.Env
	names map[sluice.Channel]string
}

func newFixture(chans ...string) *fixture {
	f := &fixture{env: sluicetest.Env("r1"), names: map[sluice.Channel]string{}}
	for _, n := range chans {
		ch := sluicetest.NewChannel()
		f.env.Channels = append(f.env.Channels, sluice.NamedChannel{Name: n, Channel: ch})
		f.names[ch] = n
	}
	return f
}

func (f *fixture) str(chans []sluice.Channel) string {
	out := make([]string, len(chans))
	for i, c := range chans {
		out[i] = f.names[c]
	}
	return strings.Join(out, " ")
}

// build decodes props (relative to the selector) through the registered
// spec, as the agent does, and builds the selector.
func (f *fixture) build(t *testing.T, typ string, props map[string]string) (sluice.ChannelSelector, error) {
	t.Helper()
	spec, ok := sluice.Lookup(sluice.KindSelector, typ)
	if !ok {
		t.Fatalf("selector type %q not registered", typ)
	}
	cfg := spec.Config()
	var ps []conf.Prop
	for k, v := range props {
		ps = append(ps, conf.Prop{Key: k, FullKey: "a1.sources.r1.selector." + k, Value: v, File: "a.conf", Line: 3})
	}
	for _, e := range conf.Decode(cfg, ps) {
		if !e.Warning {
			return nil, e
		}
	}
	v, err := spec.New(f.env, cfg)
	if err != nil {
		return nil, err
	}
	return v.(sluice.ChannelSelector), nil
}

func (f *fixture) mustBuild(t *testing.T, typ string, props map[string]string) sluice.ChannelSelector {
	t.Helper()
	s, err := f.build(t, typ, props)
	if err != nil {
		t.Fatalf("build %s: %v", typ, err)
	}
	return s
}

func ev(headers ...string) *sluice.Event {
	e := sluice.NewEvent(nil)
	for i := 0; i+1 < len(headers); i += 2 {
		e.Headers[headers[i]] = headers[i+1]
	}
	return e
}

func TestAliases(t *testing.T) {
	for name, want := range map[string]string{
		"replicating": "replicating", "REPLICATING": "replicating",
		"org.apache.flume.channel.ReplicatingChannelSelector": "replicating",
		"multiplexing": "multiplexing",
		"org.apache.flume.channel.MultiplexingChannelSelector": "multiplexing",
		"load_balancing": "load_balancing",
		"LOAD_BALANCING": "load_balancing",
		"org.apache.flume.channel.LoadBalancingChannelSelector": "load_balancing",
	} {
		s, ok := sluice.Lookup(sluice.KindSelector, name)
		if !ok || s.Name != want {
			t.Errorf("Lookup(%q) = %v, %v; want %s", name, s, ok, want)
		}
	}
}

func TestReplicating(t *testing.T) {
	// The user guide's example: c3 optional, c1 and c2 required.
	f := newFixture("c1", "c2", "c3")
	s := f.mustBuild(t, "replicating", map[string]string{"optional": "c3"})
	e := ev()
	if got := f.str(s.Required(e)); got != "c1 c2" {
		t.Errorf("required %q, want c1 c2", got)
	}
	if got := f.str(s.Optional(e)); got != "c3" {
		t.Errorf("optional %q, want c3", got)
	}
	if got := f.str(s.All()); got != "c1 c2 c3" {
		t.Errorf("all %q", got)
	}

	// No optional: every channel required, none optional.
	s = f.mustBuild(t, "replicating", nil)
	if got := f.str(s.Required(e)); got != "c1 c2 c3" {
		t.Errorf("required %q, want all", got)
	}
	if len(s.Optional(e)) != 0 {
		t.Errorf("optional %q, want none", f.str(s.Optional(e)))
	}

	// Repeats count once; everything optional leaves nothing required.
	s = f.mustBuild(t, "replicating", map[string]string{"optional": "c2  c1 c2\tc3"})
	if got := f.str(s.Optional(e)); got != "c2 c1 c3" {
		t.Errorf("optional %q, want c2 c1 c3", got)
	}
	if len(s.Required(e)) != 0 {
		t.Errorf("required %q, want none", f.str(s.Required(e)))
	}
}

func TestUnknownChannels(t *testing.T) {
	f := newFixture("c1", "c2", "logs")
	cases := []struct {
		typ   string
		props map[string]string
		want  []string
	}{
		{"replicating", map[string]string{"optional": "lgos"},
			[]string{`optional: channel "lgos" is not one of source r1's channels (c1 c2 logs); did you mean "logs"?`}},
		{"multiplexing", map[string]string{"mapping.US": "c1 c9"},
			[]string{`mapping.US: channel "c9" is not one of source r1's channels (c1 c2 logs)`}},
		{"multiplexing", map[string]string{"default": "c4", "optional.CZ": "zzzzzz", "mapping.CZ": "c1"},
			[]string{`default: channel "c4"`, `optional.CZ: channel "zzzzzz"`}},
	}
	for _, tc := range cases {
		_, err := f.build(t, tc.typ, tc.props)
		if err == nil {
			t.Errorf("%s %v: built without error", tc.typ, tc.props)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %v: error %q does not contain %q", tc.typ, tc.props, err, w)
			}
		}
	}
	// A name far from every channel gets no suggestion.
	_, err := f.build(t, "multiplexing", map[string]string{"default": "zzzzzz"})
	if err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("error %v should have no suggestion", err)
	}
}

func TestNoChannels(t *testing.T) {
	f := newFixture()
	for _, typ := range []string{"replicating", "multiplexing", "load_balancing"} {
		if _, err := f.build(t, typ, nil); err == nil || !strings.Contains(err.Error(), "source r1 has no channels") {
			t.Errorf("%s with no channels: %v", typ, err)
		}
	}
}

// The user guide's multiplexing example, with its optional channels.
func guideMultiplexing(t *testing.T) (*fixture, sluice.ChannelSelector) {
	f := newFixture("c1", "c2", "c3", "c4")
	s := f.mustBuild(t, "multiplexing", map[string]string{
		"header":      "state",
		"mapping.CZ":  "c1",
		"mapping.US":  "c2 c3",
		"optional.CZ": "c4",
		"optional.US": "c4 c2", // c2 is required for US: required only
		"optional.NY": "c3",    // no mapping for NY: default plus c3
		"default":     "c4",
	})
	return f, s
}

func TestMultiplexing(t *testing.T) {
	f, s := guideMultiplexing(t)
	cases := []struct {
		name          string
		event         *sluice.Event
		required, opt string
	}{
		{"mapped", ev("state", "CZ"), "c1", "c4"},
		{"mapped, required wins over optional", ev("state", "US"), "c2 c3", "c4"},
		{"unmapped value with optional", ev("state", "NY"), "c4", "c3"},
		{"unmapped value", ev("state", "FR"), "c4", ""},
		{"values are case-sensitive", ev("state", "cz"), "c4", ""},
		{"values are not trimmed", ev("state", " CZ"), "c4", ""},
		{"missing header", ev("other", "CZ"), "c4", ""},
		{"blank header", ev("state", " \t"), "c4", ""},
		{"empty header", ev("state", ""), "c4", ""},
		{"nil header map", &sluice.Event{}, "c4", ""},
	}
	for _, tc := range cases {
		if got := f.str(s.Required(tc.event)); got != tc.required {
			t.Errorf("%s: required %q, want %q", tc.name, got, tc.required)
		}
		if got := f.str(s.Optional(tc.event)); got != tc.opt {
			t.Errorf("%s: optional %q, want %q", tc.name, got, tc.opt)
		}
	}
	if got := f.str(s.All()); got != "c1 c2 c3 c4" {
		t.Errorf("all %q", got)
	}
}

func TestMultiplexingDefaults(t *testing.T) {
	f := newFixture("c1", "c2")
	// Flume's default header name.
	s := f.mustBuild(t, "multiplexing", map[string]string{"mapping.a": "c1", "default": "c2"})
	if got := f.str(s.Required(ev("flume.selector.header", "a"))); got != "c1" {
		t.Errorf("default header: required %q, want c1", got)
	}
	// No default: unmapped events have no required channel (Flume drops
	// them), unless they have optional ones.
	s = f.mustBuild(t, "multiplexing", map[string]string{"header": "h", "mapping.a": "c1", "optional.b": "c2"})
	if r := s.Required(ev("h", "zzz")); len(r) != 0 {
		t.Errorf("no default: required %q, want none", f.str(r))
	}
	if r, o := s.Required(ev("h", "b")), s.Optional(ev("h", "b")); len(r) != 0 || f.str(o) != "c2" {
		t.Errorf("optional-only value: required %q optional %q, want none and c2", f.str(r), f.str(o))
	}
	// Optional channels of an unmapped value that are default channels are required only.
	s = f.mustBuild(t, "multiplexing", map[string]string{"optional.b": "c1 c2", "default": "c1"})
	if r, o := f.str(s.Required(ev("flume.selector.header", "b"))), f.str(s.Optional(ev("flume.selector.header", "b"))); r != "c1" || o != "c2" {
		t.Errorf("unmapped value: required %q optional %q, want c1 and c2", r, o)
	}
}

// A blank header value goes to the default channels even when a mapping
// exists for it (reachable only with an escaped key such as "mapping.\ ").
func TestMultiplexingBlankValueIgnoresMapping(t *testing.T) {
	f := newFixture("c1", "c2")
	s, err := NewMultiplexing(f.env, &MultiplexingConfig{Header: "h", Mapping: map[string]string{" ": "c1"}, Default: []string{"c2"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.str(s.Required(ev("h", " "))); got != "c2" {
		t.Errorf("blank value: required %q, want the default c2", got)
	}
}

func TestMultiplexingConfigErrors(t *testing.T) {
	f := newFixture("c1", "c2")
	cases := []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"mapping.US": ""}, `a1.sources.r1.selector.mapping.US (a.conf:3): lists no channels`},
		{map[string]string{"header": ""}, `a1.sources.r1.selector.header (a.conf:3): must not be empty`},
	}
	for _, tc := range cases {
		_, err := f.build(t, "multiplexing", tc.props)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.props, err, tc.want)
		}
	}
	// A bare "optional" is not a multiplexing property: a warning, not an error.
	cfg := &MultiplexingConfig{Header: DefaultHeader}
	errs := conf.Decode(cfg, []conf.Prop{{Key: "optional", FullKey: "a1.sources.r1.selector.optional", Value: "c1"}})
	if len(errs) != 1 || !errs[0].Warning || !strings.Contains(errs[0].Msg, `unknown property "optional"`) {
		t.Errorf("bare optional: %v", errs)
	}
}

func TestLoadBalancingRoundRobin(t *testing.T) {
	f := newFixture("c1", "c2", "c3")
	s := f.mustBuild(t, "load_balancing", nil) // round_robin is the default
	var got []string
	for i := 0; i < 7; i++ {
		e := ev()
		got = append(got, f.str(s.Required(e)))
		if o := s.Optional(e); len(o) != 0 {
			t.Fatalf("optional %q, want none", f.str(o))
		}
	}
	if fmt.Sprint(got) != "[c1 c2 c3 c1 c2 c3 c1]" {
		t.Errorf("round robin gave %v", got)
	}
	if got := f.str(s.All()); got != "c1 c2 c3" {
		t.Errorf("all %q", got)
	}
}

func TestLoadBalancingRandom(t *testing.T) {
	f := newFixture("c1", "c2", "c3")
	s := f.mustBuild(t, "load_balancing", map[string]string{"policy": "RANDOM"})
	counts := map[string]int{}
	for i := 0; i < 3000; i++ {
		r := s.Required(ev())
		if len(r) != 1 {
			t.Fatalf("required %q, want exactly one channel", f.str(r))
		}
		counts[f.str(r)]++
	}
	// Each channel is picked; the bound is loose enough never to flake
	// (expected 1000 each).
	for _, c := range []string{"c1", "c2", "c3"} {
		if counts[c] < 500 {
			t.Errorf("random picked %s %d times of 3000: %v", c, counts[c], counts)
		}
	}
}

func TestLoadBalancingPolicyError(t *testing.T) {
	f := newFixture("c1", "c2")
	_, err := f.build(t, "load_balancing", map[string]string{"policy": "round-robin"})
	const want = `a1.sources.r1.selector.policy (a.conf:3): "round-robin" is not a policy: use round_robin or random (did you mean "round_robin"?)`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}

// Required and Optional run per event: they must not allocate.
func TestNoAllocations(t *testing.T) {
	f, mux := guideMultiplexing(t)
	rep := f.mustBuild(t, "replicating", map[string]string{"optional": "c3"})
	rr := f.mustBuild(t, "load_balancing", nil)
	rnd := f.mustBuild(t, "load_balancing", map[string]string{"policy": "random"})
	events := []*sluice.Event{ev("state", "US"), ev("state", "NY"), ev("state", "FR"), ev("state", " "), ev()}
	for name, s := range map[string]sluice.ChannelSelector{"replicating": rep, "multiplexing": mux, "round_robin": rr, "random": rnd} {
		allocs := testing.AllocsPerRun(100, func() {
			for _, e := range events {
				_ = s.Required(e)
				_ = s.Optional(e)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per run", name, allocs)
		}
	}
	// Events with the same value share one slice, so the channel processor
	// can see a uniform batch by pointer.
	a, b := mux.Required(ev("state", "US")), mux.Required(ev("state", "US"))
	if &a[0] != &b[0] {
		t.Error("the same value returned different slices")
	}
}

func BenchmarkMultiplexingRequired(b *testing.B) {
	f := newFixture("c1", "c2", "c3", "c4")
	spec, _ := sluice.Lookup(sluice.KindSelector, "multiplexing")
	cfg := &MultiplexingConfig{Header: "state", Mapping: map[string]string{"CZ": "c1", "US": "c2 c3"}, Default: []string{"c4"}}
	v, err := spec.New(f.env, cfg)
	if err != nil {
		b.Fatal(err)
	}
	s := v.(sluice.ChannelSelector)
	e := ev("state", "US")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = s.Required(e)
		_ = s.Optional(e)
	}
}
