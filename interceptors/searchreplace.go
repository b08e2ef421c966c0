package interceptors

import (
	"errors"
	"fmt"
	"github.com/sluiceio/sluice/internal/javaregex"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

// SearchReplaceConfig holds the search_replace interceptor's properties.
type SearchReplaceConfig struct {
	SearchPattern string `flume:"searchPattern" required:"true" doc:"regular expression (Java syntax) to replace"`
	ReplaceString string `flume:"replaceString" doc:"replacement, in Java's replaceAll syntax ($1, ${name}, \\$ for a dollar)"`
	Charset       string `flume:"charset" doc:"charset of the body: UTF-8, ISO-8859-1 or US-ASCII (with Java's aliases)"`
}

// Validate compiles the pattern and the replacement.
func (c *SearchReplaceConfig) Validate() error {
	_, err := c.build()
	return err
}

func (c *SearchReplaceConfig) build() (*SearchReplace, error) {
	var errs []error
	s := &SearchReplace{}
	if c.SearchPattern == "" {
		errs = append(errs, conf.Invalid("searchPattern", "must not be empty"))
	} else if re, err := javaregex.Compile("searchPattern", c.SearchPattern); err != nil {
		errs = append(errs, err)
	} else {
		s.re = re
		tmpl, literal, err := javaReplacement(c.ReplaceString, re)
		if err != nil {
			errs = append(errs, conf.Invalid("replaceString", "%q %v", c.ReplaceString, err))
		}
		s.tmpl, s.literal = []byte(tmpl), literal
	}
	cs, err := lookupCharset(c.Charset)
	if err != nil {
		errs = append(errs, conf.Invalid("charset", "%v", err))
	}
	s.cs = cs
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindInterceptor,
		Name:      "search_replace",
		Aliases:   []string{"org.apache.flume.interceptor.SearchAndReplaceInterceptor$Builder"},
		Stability: sluice.Beta,
		Doc: "Replaces every match of a regular expression in the body, with Java's Matcher.replaceAll " +
			"rules: $1 and ${name} insert groups, a backslash makes the next character literal.",
		Notes: `The replacement is checked when the configuration is loaded: a reference to a group the
pattern does not have, a ` + "`$`" + ` not followed by a group, or a trailing backslash is a configuration
error (Flume fails each matching event at run time instead, which fails the whole batch).
As in Java, ` + "`$12`" + ` means group 12 only if the pattern has 12 groups, else group 1 then "2".
` + "`charset`" + ` supports UTF-8, ISO-8859-1 and US-ASCII (any Java alias, such as ` + "`latin1`" + `); other charsets are
a configuration error. With UTF-8, bytes that are not valid UTF-8 are kept as they are where they
are not replaced (Flume turns each into U+FFFD). One difference in matching: where a pattern that
can match the empty string (` + "`x*`" + `) also matched just before, Java makes an extra empty match and
inserts one more replacement (` + "`\"baaac\".replaceAll(\"a*\", \"-\")`" + ` is ` + "`-b--c-`" + ` in Java, ` + "`-b-c-`" + ` here).
` + javaRegexNotes,
		Example: "a1.sources.r1.interceptors = i1\n" +
			"a1.sources.r1.interceptors.i1.type = search_replace\n" +
			"a1.sources.r1.interceptors.i1.searchPattern = The quick brown ([a-z]+) jumped over the lazy ([a-z]+)\n" +
			"a1.sources.r1.interceptors.i1.replaceString = The hungry $2 ate the careless $1\n",
		Config: func() any { return &SearchReplaceConfig{Charset: "UTF-8"} },
		New: func(env sluice.Env, cfg any) (any, error) {
			return cfg.(*SearchReplaceConfig).build()
		},
	})
}

// SearchReplace rewrites event bodies.
type SearchReplace struct {
	re      *regexp.Regexp
	tmpl    []byte // RE2 Expand template, or the literal text when literal
	literal bool
	cs      charset
}

// Intercept rewrites the body of every event of the batch, in place.
func (s *SearchReplace) Intercept(events []*sluice.Event) []*sluice.Event {
	for _, e := range events {
		body := s.cs.decode(e.Body)
		if !s.re.Match(body) {
			continue // leave the body (and its bytes) untouched
		}
		if s.literal {
			body = s.re.ReplaceAllLiteral(body, s.tmpl)
		} else {
			body = s.re.ReplaceAll(body, s.tmpl)
		}
		e.Body = s.cs.encode(body)
	}
	return events
}

// javaReplacement translates a Java Matcher.replaceAll replacement into a
// Go regexp Expand template, resolving every group reference now, so that
// "$1a" (group 1, then "a" in Java; group "1a" in Go) becomes "${1}a".
// literal reports that the template has no group references; the text is
// then returned unescaped, for ReplaceAllLiteral.
func javaReplacement(repl string, re *regexp.Regexp) (tmpl string, literal bool, err error) {
	groups := re.NumSubexp()
	var out, lit strings.Builder
	literal = true
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		switch c {
		case '\\':
			i++
			if i >= len(repl) {
				return "", false, fmt.Errorf("ends with a lone backslash (write \\\\ for a backslash)")
			}
			if repl[i] == '$' {
				out.WriteString("$$")
			} else {
				out.WriteByte(repl[i])
			}
			lit.WriteByte(repl[i])
		case '$':
			literal = false
			i++
			if i >= len(repl) {
				return "", false, fmt.Errorf("ends with a lone $ (write \\$ for a dollar sign)")
			}
			if repl[i] == '{' {
				end := strings.IndexByte(repl[i:], '}')
				if end < 0 {
					return "", false, fmt.Errorf("has a ${ without its closing }")
				}
				name := repl[i+1 : i+end]
				if !javaGroupName(name) {
					return "", false, fmt.Errorf("has an invalid group name ${%s}", name)
				}
				idx := re.SubexpIndex(name)
				if idx < 0 {
					return "", false, fmt.Errorf("refers to group ${%s}, which searchPattern does not define", name)
				}
				fmt.Fprintf(&out, "${%d}", idx)
				i += end
				continue
			}
			if repl[i] < '0' || repl[i] > '9' {
				return "", false, fmt.Errorf("has a $ not followed by a group number or ${name} (write \\$ for a dollar sign)")
			}
			// Java takes the first digit, then more digits while the
			// number stays a group the pattern has.
			ref := int(repl[i] - '0')
			if ref > groups {
				return "", false, fmt.Errorf("refers to group $%d, but searchPattern has %d group(s)", ref, groups)
			}
			for i+1 < len(repl) && repl[i+1] >= '0' && repl[i+1] <= '9' {
				next := ref*10 + int(repl[i+1]-'0')
				if next > groups {
					break
				}
				ref = next
				i++
			}
			out.WriteString("${" + strconv.Itoa(ref) + "}")
		default:
			out.WriteByte(c)
			lit.WriteByte(c)
		}
	}
	if literal {
		return lit.String(), true, nil
	}
	return out.String(), false, nil
}

func javaGroupName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
