package interceptors

import (
	"strings"
	"testing"

	"github.com/sluiceio/sluice"
)

func bodies(events []*sluice.Event) string {
	s := make([]string, len(events))
	for i, e := range events {
		s[i] = string(e.Body)
	}
	return strings.Join(s, ",")
}

func TestRegexFilterBatch(t *testing.T) {
	batch := func() []*sluice.Event {
		return []*sluice.Event{ev("INFO start"), ev("DEBUG x=1"), ev("WARN disk"), ev("TRACE y"), ev(""), ev("ERROR boom")}
	}
	cases := []struct {
		name string
		kv   []string
		want string
	}{
		{"default .* keeps everything", nil, "INFO start,DEBUG x=1,WARN disk,TRACE y,,ERROR boom"},
		{"include", []string{"regex", "WARN|ERROR"}, "WARN disk,ERROR boom"},
		{"exclude", []string{"regex", "DEBUG|TRACE", "excludeEvents", "true"}, "INFO start,WARN disk,,ERROR boom"},
		{"find, not a whole match", []string{"regex", "x=\\d"}, "DEBUG x=1"},
		{"anchored", []string{"regex", "^E"}, "ERROR boom"},
		{"drop all", []string{"regex", "nothing matches this"}, ""},
		{"exclude all", []string{"regex", ".*", "excludeEvents", "true"}, ""},
	}
	for _, c := range cases {
		i := build(t, "regex_filter", c.kv...)
		in := batch()
		orig := append([]*sluice.Event(nil), in...)
		out := i.Intercept(in)
		if got := bodies(out); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
		// The caller's slice is never rearranged: a source may retry it.
		for k := range in {
			if in[k] != orig[k] {
				t.Errorf("%s: input slice changed at %d", c.name, k)
			}
		}
	}
}

func TestRegexFilterKeepsTheSliceWhenNothingIsDropped(t *testing.T) {
	i := build(t, "org.apache.flume.interceptor.RegexFilteringInterceptor$Builder", "regex", "a")
	in := []*sluice.Event{ev("a"), ev("ba")}
	out := i.Intercept(in)
	if len(out) != 2 || &out[0] != &in[0] {
		t.Fatal("a batch that passes whole should be returned as is")
	}
	if got := i.Intercept(nil); len(got) != 0 {
		t.Fatal("empty batch")
	}
}

func TestRegexFilterJavaDot(t *testing.T) {
	// Java's . stops at \r, so "a.b" does not match "a\rb" in Flume.
	i := build(t, "regex_filter", "regex", "a.b")
	out := i.Intercept([]*sluice.Event{ev("a\rb"), ev("a-b")})
	if bodies(out) != "a-b" {
		t.Fatalf("got %q", bodies(out))
	}
}

func TestRegexFilterConfigErrors(t *testing.T) {
	for _, c := range []struct{ regex, want string }{
		{"(?<=user=)admin", "lookbehind"},
		{"[a-z", "unclosed character class"},
		{"*", "missing argument to repetition operator"},
	} {
		msg := configErr(t, "regex_filter", "regex", c.regex)
		if !strings.Contains(msg, "a1.sources.r1.interceptors.i1.regex (test.conf:1)") || !strings.Contains(msg, c.want) {
			t.Errorf("%q: got %q", c.regex, msg)
		}
	}
	msg := configErr(t, "regex_filter", "excludeEvents", "maybe")
	if !strings.Contains(msg, "excludeEvents") {
		t.Errorf("got %q", msg)
	}
}
