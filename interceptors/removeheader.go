package interceptors

import (
	"errors"
	"github.com/sluiceio/sluice/internal/javaregex"
	"regexp"

	"github.com/sluiceio/sluice"
)

// RemoveHeaderConfig holds the remove_header interceptor's properties.
type RemoveHeaderConfig struct {
	WithName          string `flume:"withName" doc:"name of one header to remove"`
	FromList          string `flume:"fromList" doc:"header names to remove, separated by fromListSeparator"`
	FromListSeparator string `flume:"fromListSeparator" doc:"regular expression (Java syntax) separating the names in fromList"`
	Matching          string `flume:"matching" doc:"remove every header whose whole name matches this regular expression (Java syntax)"`
}

// Validate compiles the regular expressions.
func (c *RemoveHeaderConfig) Validate() error {
	_, err := c.build()
	return err
}

func (c *RemoveHeaderConfig) build() (*RemoveHeader, error) {
	r := &RemoveHeader{withName: c.WithName}
	var errs []error
	if c.FromList != "" {
		sep, err := javaregex.Compile("fromListSeparator", c.FromListSeparator)
		if err != nil {
			errs = append(errs, err)
		} else {
			r.fromList = javaSplit(sep, c.FromList)
		}
	}
	if c.Matching != "" {
		tr, err := javaregex.Compile("matching", c.Matching)
		if err != nil {
			errs = append(errs, err)
		} else {
			// Java's Matcher.matches(): the whole name must match.
			r.matching = regexp.MustCompile(`\A(?:` + tr.String() + `)\z`)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(r.fromList) > 0 {
		r.fromSet = make(map[string]struct{}, len(r.fromList))
		for _, n := range r.fromList {
			r.fromSet[n] = struct{}{}
		}
	}
	return r, nil
}

// javaSplit splits like Java's String.split(regex): trailing empty strings
// are dropped.
func javaSplit(re *regexp.Regexp, s string) []string {
	parts := re.Split(s, -1)
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindInterceptor,
		Name:      "remove_header",
		Aliases:   []string{"org.apache.flume.interceptor.RemoveHeaderInterceptor$Builder"},
		Stability: sluice.Stable,
		Doc: "Removes headers: one by name (withName), a list of names (fromList), and every header " +
			"whose name matches a regular expression (matching). Any combination may be set; with none, events pass unchanged.",
		Notes: "Same as Flume. `matching` must match the whole header name, as Java's `Matcher.matches()` does.\n" + javaRegexNotes,
		Example: "a1.sources.r1.interceptors = i1\n" +
			"a1.sources.r1.interceptors.i1.type = remove_header\n" +
			"a1.sources.r1.interceptors.i1.withName = password\n" +
			"a1.sources.r1.interceptors.i1.fromList = debug, trace\n" +
			"a1.sources.r1.interceptors.i1.matching = tmp-.*\n",
		Config: func() any { return &RemoveHeaderConfig{FromListSeparator: `\s*,\s*`} },
		New: func(env sluice.Env, cfg any) (any, error) {
			return cfg.(*RemoveHeaderConfig).build()
		},
	})
}

// RemoveHeader removes headers by name, list and pattern.
type RemoveHeader struct {
	withName string
	fromList []string
	fromSet  map[string]struct{}
	matching *regexp.Regexp
}

// Intercept removes the headers from every event of the batch, in place.
func (r *RemoveHeader) Intercept(events []*sluice.Event) []*sluice.Event {
	for _, e := range events {
		if len(e.Headers) == 0 {
			continue
		}
		if r.withName != "" {
			delete(e.Headers, r.withName)
		}
		if r.matching == nil {
			// Deleting by name is cheaper than scanning the headers.
			for _, n := range r.fromList {
				delete(e.Headers, n)
			}
			continue
		}
		for k := range e.Headers {
			if _, ok := r.fromSet[k]; ok || r.matching.MatchString(k) {
				delete(e.Headers, k)
			}
		}
	}
	return events
}
