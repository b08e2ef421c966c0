package interceptors

import (
	"errors"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/javaregex"
	"github.com/sluiceio/sluice/internal/jodatime"
)

// Serializer type names, as Flume spells them.
const (
	passThroughSerializer = "org.apache.flume.interceptor.RegexExtractorInterceptorPassThroughSerializer"
	millisSerializer      = "org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer"
)

// RegexExtractorConfig holds the regex_extractor interceptor's properties.
type RegexExtractorConfig struct {
	Regex       string            `flume:"regex" required:"true" doc:"regular expression (Java syntax) searched for in the body; its groups become headers"`
	Serializers []string          `flume:"serializers" required:"true" doc:"serializer names, one per group, in group order"`
	Sub         map[string]string `flume:"serializers.*" doc:"serializers.<s>.name (header name), .type (default or a serializer class) and .pattern (for the millis serializer)"`

	// For tests: the zone and clock the millis serializer uses.
	loc *time.Location
	now func() time.Time
}

// Validate compiles the regex and the serializers.
func (c *RegexExtractorConfig) Validate() error {
	_, err := c.build(nil)
	return err
}

func (c *RegexExtractorConfig) build(log *slog.Logger) (*RegexExtractor, error) {
	var errs []error
	x := &RegexExtractor{log: log}
	if c.Regex == "" {
		errs = append(errs, conf.Invalid("regex", "must not be empty"))
	} else if re, err := javaregex.Compile("regex", c.Regex); err != nil {
		errs = append(errs, err)
	} else {
		x.re = re
	}
	if len(c.Serializers) == 0 {
		errs = append(errs, conf.Invalid("serializers", "must list at least one serializer"))
	}
	loc, now := c.loc, c.now
	if loc == nil {
		loc = time.Local // Joda uses the JVM's default zone
	}
	if now == nil {
		now = time.Now
	}
	for _, s := range c.Serializers {
		key := "serializers." + s + "."
		name := strings.TrimSpace(c.Sub[s+".name"])
		if name == "" {
			errs = append(errs, conf.Invalid(key+"name", "is required: the header that receives group %d", len(x.ser)+1))
		}
		ser := extractorSerializer{header: name}
		typ := strings.TrimSpace(c.Sub[s+".type"])
		switch {
		case typ == "" || strings.EqualFold(typ, "default") || typ == passThroughSerializer:
		case typ == millisSerializer:
			pat := c.Sub[s+".pattern"]
			if pat == "" {
				errs = append(errs, conf.Invalid(key+"pattern", "is required by the millis serializer (a Joda-Time pattern such as \"yyyy-MM-dd HH:mm\")"))
				break
			}
			l, err := jodatime.Compile(pat, loc, now())
			if err != nil {
				errs = append(errs, conf.Invalid(key+"pattern", "%q %v", pat, err))
			}
			ser.millis = l
		default:
			errs = append(errs, conf.Invalid(key+"type", "%q is not a known serializer (use default, %s or %s; custom Java classes cannot be loaded)",
				typ, passThroughSerializer, millisSerializer))
		}
		x.ser = append(x.ser, ser)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return x, nil
}

// strayKeys lists serializers.* keys that no listed serializer uses; Flume
// ignores them silently, which hides typos.
func (c *RegexExtractorConfig) strayKeys() []string {
	listed := map[string]bool{}
	for _, s := range c.Serializers {
		listed[s] = true
	}
	var out []string
	for k := range c.Sub {
		s, attr, _ := strings.Cut(k, ".")
		if !listed[s] || (attr != "name" && attr != "type" && attr != "pattern") {
			out = append(out, "serializers."+k)
		}
	}
	sort.Strings(out)
	return out
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindInterceptor,
		Name:      "regex_extractor",
		Aliases:   []string{"org.apache.flume.interceptor.RegexExtractorInterceptor$Builder"},
		Stability: sluice.Beta,
		Doc: "Searches the body (UTF-8 text) for a regular expression and copies its groups into headers: " +
			"group 1 to the first serializer's header name, group 2 to the second, and so on.",
		Notes: `As in Flume: the regex is searched for anywhere in the body (the first match is used);
with no match the event is unchanged; groups beyond the serializer list are ignored, and so are
serializers beyond the group count. Serializer types: ` + "`default`" + ` in any case (Flume's guide
says ` + "`default`" + ` but its code only accepts ` + "`DEFAULT`" + `; the value as matched,
also spelled ` + passThroughSerializer + `) and ` + millisSerializer + `, which
turns the value into epoch milliseconds with a Joda-Time ` + "`pattern`" + `, in the agent's local time zone
unless the pattern reads one (` + "`Z`, `ZZ`, `ZZZ`" + `). Supported pattern letters: ` + "`y Y M d D E e a H k K h m s S Z`" + `
with Joda's parsing rules (month and day names in English); ` + "`G C x w`" + ` and the unparseable ` + "`z`" + `
are configuration errors. Custom serializer classes cannot be loaded.

Differences: a group that took no part in the match (` + "`(a)?`" + `) sets no header (Flume stores a
null value, which later components choke on). A value the millis serializer cannot parse leaves
that header unset and is logged as a warning, once per batch; Flume throws, which fails the whole
batch back to the source and retries it forever. Unused ` + "`serializers.*`" + ` keys are logged as a
warning. Bytes that are not valid UTF-8 become U+FFFD in header values, as in Flume.
` + javaRegexNotes,
		Example: "a1.sources.r1.interceptors = i1\n" +
			"a1.sources.r1.interceptors.i1.type = regex_extractor\n" +
			"a1.sources.r1.interceptors.i1.regex = ^(\\\\d\\\\d\\\\d\\\\d-\\\\d\\\\d-\\\\d\\\\d \\\\d\\\\d:\\\\d\\\\d)\n" +
			"a1.sources.r1.interceptors.i1.serializers = s1\n" +
			"a1.sources.r1.interceptors.i1.serializers.s1.type = " + millisSerializer + "\n" +
			"a1.sources.r1.interceptors.i1.serializers.s1.name = timestamp\n" +
			"a1.sources.r1.interceptors.i1.serializers.s1.pattern = yyyy-MM-dd HH:mm\n",
		Config: func() any { return &RegexExtractorConfig{} },
		New: func(env sluice.Env, cfg any) (any, error) {
			c := cfg.(*RegexExtractorConfig)
			x, err := c.build(env.Logger)
			if err != nil {
				return nil, err
			}
			if stray := c.strayKeys(); len(stray) > 0 && env.Logger != nil {
				env.Logger.Warn("regex_extractor: ignoring properties that no listed serializer uses",
					"interceptor", env.Name, "keys", stray)
			}
			return x, nil
		},
	})
}

type extractorSerializer struct {
	header string
	millis *jodatime.Layout // nil: pass through
}

// RegexExtractor copies regex groups into headers.
type RegexExtractor struct {
	re  *regexp.Regexp
	ser []extractorSerializer
	log *slog.Logger
}

// Intercept adds headers to every matching event of the batch, in place.
func (x *RegexExtractor) Intercept(events []*sluice.Event) []*sluice.Event {
	var failures int
	var firstErr error
	n := min(x.re.NumSubexp(), len(x.ser))
	for _, e := range events {
		m := x.re.FindSubmatchIndex(e.Body)
		if m == nil {
			continue
		}
		for g := 1; g <= n; g++ {
			start, end := m[2*g], m[2*g+1]
			if start < 0 {
				continue // the group took no part in the match
			}
			v := string(e.Body[start:end])
			if !utf8.ValidString(v) {
				v = strings.ToValidUTF8(v, "\uFFFD")
			}
			s := x.ser[g-1]
			if s.millis != nil {
				t, err := s.millis.Parse(v)
				if err != nil {
					failures++
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				v = strconv.FormatInt(t.UnixMilli(), 10)
			}
			e.SetHeader(s.header, v)
		}
	}
	if failures > 0 && x.log != nil {
		x.log.Warn("regex_extractor: could not convert extracted values to milliseconds; those headers were not set",
			"events", failures, "first_error", firstErr)
	}
	return events
}
