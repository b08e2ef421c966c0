package interceptors

import (
	"github.com/sluiceio/sluice/internal/javaregex"
	"regexp"

	"github.com/sluiceio/sluice"
)

// RegexFilterConfig holds the regex_filter interceptor's properties.
type RegexFilterConfig struct {
	Regex         string `flume:"regex" doc:"regular expression (Java syntax) searched for anywhere in the body"`
	ExcludeEvents bool   `flume:"excludeEvents" doc:"drop matching events (true) instead of keeping only them (false)"`
}

// Validate compiles the regular expression.
func (c *RegexFilterConfig) Validate() error {
	_, err := c.build()
	return err
}

func (c *RegexFilterConfig) build() (*RegexFilter, error) {
	re, err := javaregex.Compile("regex", c.Regex)
	if err != nil {
		return nil, err
	}
	return &RegexFilter{re: re, exclude: c.ExcludeEvents}, nil
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindInterceptor,
		Name:      "regex_filter",
		Aliases:   []string{"org.apache.flume.interceptor.RegexFilteringInterceptor$Builder"},
		Stability: sluice.Stable,
		Doc: "Keeps only the events whose body (read as UTF-8 text) contains a match for a regular " +
			"expression, or, with excludeEvents, drops them.",
		Notes: `As in Flume the regex is searched for anywhere in the body (Java's ` + "`Matcher.find()`" + `): use
` + "`^…$`" + ` to require a whole-body match. Filtered-out events are dropped on purpose, by configuration,
as in Flume. Bytes that are not valid UTF-8 each count as one U+FFFD character when matching.
` + javaRegexNotes,
		Example: "a1.sources.r1.interceptors = i1\n" +
			"a1.sources.r1.interceptors.i1.type = regex_filter\n" +
			"a1.sources.r1.interceptors.i1.regex = DEBUG|TRACE\n" +
			"a1.sources.r1.interceptors.i1.excludeEvents = true\n",
		Config: func() any { return &RegexFilterConfig{Regex: ".*"} },
		New: func(env sluice.Env, cfg any) (any, error) {
			return cfg.(*RegexFilterConfig).build()
		},
	})
}

// RegexFilter keeps or drops events by a body regex.
type RegexFilter struct {
	re      *regexp.Regexp
	exclude bool
}

// Intercept returns the events that pass. When every event passes it
// returns the batch as given; otherwise a new slice, so the caller's batch
// (which a source may retry) is never rearranged.
func (f *RegexFilter) Intercept(events []*sluice.Event) []*sluice.Event {
	var out []*sluice.Event
	for i, e := range events {
		keep := f.re.Match(e.Body) != f.exclude
		switch {
		case keep && out != nil:
			out = append(out, e)
		case !keep && out == nil:
			out = make([]*sluice.Event, i, len(events)-1)
			copy(out, events[:i])
		}
	}
	if out == nil {
		return events
	}
	return out
}
