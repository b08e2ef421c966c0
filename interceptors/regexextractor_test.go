package interceptors

import (
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sluicetest"
)

// buildExtractor builds with the millis serializer in a fixed zone.
func buildExtractor(t *testing.T, loc *time.Location, env sluice.Env, kv ...string) sluice.Interceptor {
	t.Helper()
	spec, cfg, errs := decode(t, "regex_extractor", kv...)
	if len(errs) > 0 {
		t.Fatalf("config errors: %v", errs)
	}
	cfg.(*RegexExtractorConfig).loc = loc
	return newFrom(t, spec, cfg, env)
}

func TestRegexExtractorUserGuideExample1(t *testing.T) {
	i := build(t, "regex_extractor",
		"regex", `(\d):(\d):(\d)`,
		"serializers", "s1 s2 s3",
		"serializers.s1.name", "one",
		"serializers.s2.name", "two",
		"serializers.s3.name", "three")
	e := ev("1:2:3.4foobar5")
	i.Intercept([]*sluice.Event{e})
	if got := headersString(e.Headers); got != "one=1 three=3 two=2" || string(e.Body) != "1:2:3.4foobar5" {
		t.Fatalf("got %q, body %q", got, e.Body)
	}
}

func TestRegexExtractorUserGuideExample2(t *testing.T) {
	// The guide's 1350611220000 is 2012-10-18 18:47 in US Pacific time.
	pdt := time.FixedZone("PDT", -7*3600)
	i := buildExtractor(t, pdt, sluicetest.Env("i1"),
		"regex", `^(?:\n)?(\d\d\d\d-\d\d-\d\d\s\d\d:\d\d)`,
		"serializers", "s1",
		"serializers.s1.type", "org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer",
		"serializers.s1.name", "timestamp",
		"serializers.s1.pattern", "yyyy-MM-dd HH:mm")
	e := ev("2012-10-18 18:47:57,614 some log line")
	i.Intercept([]*sluice.Event{e})
	if got := headersString(e.Headers); got != "timestamp=1350611220000" {
		t.Fatalf("got %q", got)
	}
}

// Flume's shouldExtractAddHeadersUsingSpecifiedSerializer, with a fixed time.
func TestRegexExtractorMixedSerializers(t *testing.T) {
	i := buildExtractor(t, time.UTC, sluicetest.Env("i1"),
		"regex", `^(\d\d\d\d-\d\d-\d\d\s\d\d:\d\d)(:\d\d,\d\d\d)`,
		"serializers", "s1 s2",
		"serializers.s1.type", "org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer",
		"serializers.s1.name", "timestamp",
		"serializers.s1.pattern", "yyyy-MM-dd HH:mm",
		"serializers.s2.name", "data")
	e := ev("2012-10-17 14:34:00,000")
	i.Intercept([]*sluice.Event{e})
	if got := headersString(e.Headers); got != "data=:00,000 timestamp=1350484440000" {
		t.Fatalf("got %q", got)
	}
}

func TestRegexExtractorSemantics(t *testing.T) {
	cases := []struct {
		name string
		kv   []string
		body string
		want string
	}{
		{"fewer serializers than groups: extra groups ignored",
			[]string{"regex", `^(\d\d\d\d-\d\d-\d\d\s\d\d:\d\d)(:\d\d,\d\d\d)`, "serializers", "s1", "serializers.s1.name", "timestamp"},
			"2012-10-17 14:34:44,338", "k=v timestamp=2012-10-17 14:34"},
		{"more serializers than groups: extra serializers unused",
			[]string{"regex", `(\w+)=`, "serializers", "a b", "serializers.a.name", "key", "serializers.b.name", "never"},
			"user=bob", "k=v key=user"},
		{"no match: unchanged",
			[]string{"regex", `(\d+)`, "serializers", "a", "serializers.a.name", "num"},
			"no digits", "k=v"},
		{"first match only",
			[]string{"regex", `(\d+)`, "serializers", "a", "serializers.a.name", "num"},
			"a1 b22 c333", "k=v num=1"},
		{"overwrites an existing header",
			[]string{"regex", `(\w+)`, "serializers", "a", "serializers.a.name", "k"},
			"new", "k=new"},
		{"group that took no part: no header",
			[]string{"regex", `(a)?(b)`, "serializers", "x y", "serializers.x.name", "ga", "serializers.y.name", "gb"},
			"b", "gb=b k=v"},
		{"empty group: empty header",
			[]string{"regex", `x(a*)y`, "serializers", "x", "serializers.x.name", "ga"},
			"xy", "ga= k=v"},
		{"named and non-capturing groups count as in Java",
			[]string{"regex", `(?:id=)(?<id>\d+) (\w+)`, "serializers", "a b", "serializers.a.name", "id", "serializers.b.name", "word"},
			"id=42 go", "id=42 k=v word=go"},
		{"DEFAULT type, as Flume's code spells it",
			[]string{"regex", `(\w+)`, "serializers", "a", "serializers.a.name", "w", "serializers.a.type", "DEFAULT"},
			"hi", "k=v w=hi"},
		{"pass-through class name",
			[]string{"regex", `(\w+)`, "serializers", "a", "serializers.a.name", "w", "serializers.a.type", passThroughSerializer},
			"hi", "k=v w=hi"},
		{"invalid UTF-8 becomes U+FFFD",
			[]string{"regex", `v=(.+)`, "serializers", "a", "serializers.a.name", "v"},
			"v=a\xffb", "k=v v=a\uFFFDb"},
	}
	for _, c := range cases {
		i := build(t, "org.apache.flume.interceptor.RegexExtractorInterceptor$Builder", c.kv...)
		e := ev(c.body, "k", "v")
		out := i.Intercept([]*sluice.Event{e})
		if len(out) != 1 {
			t.Fatalf("%s: %d events", c.name, len(out))
		}
		if got := headersString(e.Headers); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestRegexExtractorUnparseableTimeSkipsHeaderAndWarns(t *testing.T) {
	var lb logBuffer
	i := buildExtractor(t, time.UTC, envWithLog(&lb),
		"regex", `^(\S+) (\w+)`,
		"serializers", "t w",
		"serializers.t.type", millisSerializer,
		"serializers.t.name", "timestamp",
		"serializers.t.pattern", "yyyy-MM-dd",
		"serializers.w.name", "word")
	batch := []*sluice.Event{ev("2012-10-17 ok"), ev("2012-02-30 bad"), ev("yesterday bad")}
	out := i.Intercept(batch)
	if len(out) != 3 {
		t.Fatalf("events must not be dropped: %d", len(out))
	}
	want := []string{"timestamp=1350432000000 word=ok", "word=bad", "word=bad"}
	for k, e := range out {
		if got := headersString(e.Headers); got != want[k] {
			t.Errorf("event %d: got %q, want %q", k, got, want[k])
		}
	}
	log := lb.String()
	if strings.Count(log, "level=WARN") != 1 || !strings.Contains(log, "events=2") || !strings.Contains(log, "2012-02-30") {
		t.Fatalf("want one warning for the batch, naming the first failure: %q", log)
	}
}

func TestRegexExtractorWarnsAboutStrayKeys(t *testing.T) {
	var lb logBuffer
	buildExtractor(t, time.UTC, envWithLog(&lb),
		"regex", `(\w+)`, "serializers", "s1",
		"serializers.s1.name", "w", "serializers.s2.name", "typo", "serializers.s1.patern", "x")
	log := lb.String()
	if !strings.Contains(log, "serializers.s2.name") || !strings.Contains(log, "serializers.s1.patern") {
		t.Fatalf("log: %q", log)
	}
}

func TestRegexExtractorConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		kv   []string
		want []string
	}{
		{"no regex", []string{"serializers", "s1", "serializers.s1.name", "a"}, []string{"regex", "required"}},
		{"empty regex", []string{"regex", "", "serializers", "s1", "serializers.s1.name", "a"}, []string{"regex", "must not be empty"}},
		{"illegal regex (Flume's test)", []string{"regex", "?&?&&&?&?&?&&&??", "serializers", "s1", "serializers.s1.name", "a"}, []string{"regex", "not a valid regular expression"}},
		{"lookahead", []string{"regex", `(\d+)(?= ms)`, "serializers", "s1", "serializers.s1.name", "a"}, []string{"a1.sources.r1.interceptors.i1.regex", "lookahead"}},
		{"no serializers", []string{"regex", "(a)"}, []string{"serializers", "required"}},
		{"empty serializers", []string{"regex", "(a)", "serializers", ""}, []string{"serializers", "at least one"}},
		{"missing name", []string{"regex", "(a)", "serializers", "s1"}, []string{"serializers.s1.name", "is required"}},
		{"blank names (Flume's test)", []string{"regex", "(a)", "serializers", " , , "}, []string{"serializers.,.name"}},
		{"unknown type", []string{"regex", "(a)", "serializers", "s1", "serializers.s1.name", "a", "serializers.s1.type", "com.example.MySerializer"},
			[]string{"serializers.s1.type", `"com.example.MySerializer" is not a known serializer`}},
		{"millis without pattern", []string{"regex", "(a)", "serializers", "s1", "serializers.s1.name", "a", "serializers.s1.type", millisSerializer},
			[]string{"serializers.s1.pattern", "is required"}},
		{"millis with a bad pattern (Flume's test)", []string{"regex", "(a)", "serializers", "s1", "serializers.s1.name", "a", "serializers.s1.type", millisSerializer, "serializers.s1.pattern", "ABCDEFG"},
			[]string{"serializers.s1.pattern", `"ABCDEFG"`, "not a Joda-Time pattern letter"}},
		{"millis with an unsupported letter", []string{"regex", "(a)", "serializers", "s1", "serializers.s1.name", "a", "serializers.s1.type", millisSerializer, "serializers.s1.pattern", "yyyy-'W'ww"},
			[]string{"serializers.s1.pattern", "week of week year"}},
	}
	for _, c := range cases {
		msg := configErr(t, "regex_extractor", c.kv...)
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: error %q does not contain %q", c.name, msg, w)
			}
		}
	}
}

func TestRegexExtractorReportsEveryProblemAtOnce(t *testing.T) {
	msg := configErr(t, "regex_extractor", "regex", "a(?=b)", "serializers", "s1 s2",
		"serializers.s2.name", "x", "serializers.s2.type", "nope")
	for _, w := range []string{"regex", "serializers.s1.name", "serializers.s2.type"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not mention %q", msg, w)
		}
	}
}
