package interceptors

import (
	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/javaregex"
	"strings"
	"testing"
)

// Expected bodies are what Java 17's String.replaceAll(pattern,
// replacement) returns, which is what Flume's interceptor does.
func TestSearchReplaceMatchesJavaReplaceAll(t *testing.T) {
	cases := []struct{ pattern, replacement, input, want string }{
		{`^prefix`, ``, `prefix non-prefix suffix`, ` non-prefix suffix`},
		{`(\d+)`, `$1a`, `x12y`, `x12ay`},
		{`(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)`, `$12$1`, `abcdefghijkl`, `la`},
		{`(a)(b)`, `$12`, `ab`, `a2`},
		{`(?<w>\w+)`, `<${w}>`, `hi there`, `<hi> <there>`},
		{`o`, `\$\\`, `foo`, `f$\$\`},
		{`x*`, `-`, `abc`, `-a-b-c-`},
		{`(a)|b`, `[$1]`, `ab`, `[a][]`},
		{`\s+`, `_`, "a \t\x0Bb", `a_b`},
		{`.`, `X`, "a\r\nb", "X\r\nX"},
		{`\d`, `<$0>`, `a1b2`, `a<1>b<2>`},
		{`(é)`, `$1$1`, `café`, `caféé`},
		{`^`, `>`, "ab\ncd", ">ab\ncd"},
		{`(?m)^`, `>`, "ab\ncd", ">ab\n>cd"},
		{`The quick brown ([a-z]+) jumped over the lazy ([a-z]+).`, `The hungry $2 ate the careless $1.`, `The quick brown fox jumped over the lazy dog.`, `The hungry dog ate the careless fox.`},
		{`[A-Za-z0-9_.]+@[A-Za-z0-9_-]+\.com`, `REDACTED`, `Email addresses: test@test.com and foo@test.com`, `Email addresses: REDACTED and REDACTED`},
		{`^<[0-9]+>`, ``, `<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!`, `Feb  5 17:32:18 10.0.0.99 Use the BFG!`},
		{`(\w+)@(\w+)`, `$2\@$1`, `me@host`, `host@me`},
		{`a`, `\n`, `cat`, `cnt`},
	}
	for _, c := range cases {
		i := build(t, "search_replace", "searchPattern", c.pattern, "replaceString", c.replacement)
		e := ev(c.input)
		i.Intercept([]*sluice.Event{e})
		if string(e.Body) != c.want {
			t.Errorf("%q -> %q on %q: got %q, want %q", c.pattern, c.replacement, c.input, e.Body, c.want)
		}
	}
}

func TestSearchReplaceUserGuideExamples(t *testing.T) {
	// Remove leading alphanumeric characters; replaceString may be absent.
	i := build(t, "search_replace", "searchPattern", "^[A-Za-z0-9_]+")
	batch := []*sluice.Event{ev("Abc123@test.com"), ev("@nothing"), ev("")}
	out := i.Intercept(batch)
	if len(out) != 3 || string(out[0].Body) != "@test.com" || string(out[1].Body) != "@nothing" || string(out[2].Body) != "" {
		t.Fatalf("got %q %q %q", out[0].Body, out[1].Body, out[2].Body)
	}
	// The FQCN resolves to the same interceptor.
	i = build(t, "org.apache.flume.interceptor.SearchAndReplaceInterceptor$Builder",
		"searchPattern", "The quick brown ([a-z]+) jumped over the lazy ([a-z]+)",
		"replaceString", "The hungry $2 ate the careless $1")
	e := ev("The quick brown fox jumped over the lazy dog")
	i.Intercept([]*sluice.Event{e})
	if string(e.Body) != "The hungry dog ate the careless fox" {
		t.Fatalf("got %q", e.Body)
	}
}

func TestSearchReplaceWithSpace(t *testing.T) {
	// A replacement of one space (written "\ " in a properties file) must
	// survive as is.
	cfg := &SearchReplaceConfig{SearchPattern: `\s+`, ReplaceString: " ", Charset: "UTF-8"}
	i, err := cfg.build()
	if err != nil {
		t.Fatal(err)
	}
	e := ev("a \t\x0Bb")
	i.Intercept([]*sluice.Event{e})
	if string(e.Body) != "a b" {
		t.Fatalf("got %q", e.Body)
	}
}

func TestSearchReplaceLeavesNonMatchingBodiesUntouched(t *testing.T) {
	i := build(t, "search_replace", "searchPattern", "secret")
	body := []byte("public \xff bytes")
	e := ev("")
	e.Body = body
	i.Intercept([]*sluice.Event{e})
	if &e.Body[0] != &body[0] || string(e.Body) != "public \xff bytes" {
		t.Fatalf("body was rewritten: %q", e.Body)
	}
}

func TestSearchReplaceCharsets(t *testing.T) {
	// Latin-1: 0xE9 is é; the regex sees the character, and the result is
	// encoded back to Latin-1, with '?' for what Latin-1 lacks.
	i := build(t, "search_replace", "searchPattern", "é+", "replaceString", "[e\u0301€]", "charset", "latin1")
	e := ev("")
	e.Body = []byte("caf\xe9\xe9!")
	i.Intercept([]*sluice.Event{e})
	if string(e.Body) != "caf[e??]!" {
		t.Fatalf("latin1: got %q", e.Body)
	}
	i = build(t, "search_replace", "searchPattern", "\\.", "replaceString", "é", "charset", "US-ASCII")
	e = ev("")
	e.Body = []byte("a.b\xc3")
	i.Intercept([]*sluice.Event{e})
	if string(e.Body) != "a?b?" {
		t.Fatalf("ascii: got %q", e.Body)
	}
}

func TestSearchReplaceConfigErrors(t *testing.T) {
	cases := []struct {
		kv   []string
		want []string
	}{
		{[]string{"searchPattern", "(a)", "replaceString", "$2"}, []string{"replaceString", `"$2"`, "group $2", "has 1 group"}},
		{[]string{"searchPattern", "a", "replaceString", "x\\"}, []string{"replaceString", "lone backslash"}},
		{[]string{"searchPattern", "a", "replaceString", "x$"}, []string{"replaceString", "lone $"}},
		{[]string{"searchPattern", "a", "replaceString", "$x"}, []string{"replaceString", "not followed by a group number"}},
		{[]string{"searchPattern", "a", "replaceString", "${nope}"}, []string{"replaceString", "${nope}", "does not define"}},
		{[]string{"searchPattern", "a", "replaceString", "${1x"}, []string{"replaceString", "closing }"}},
		{[]string{"searchPattern", "foo(?=bar)"}, []string{"searchPattern", `"foo(?=bar)"`, "lookahead", "RE2"}},
		{[]string{"searchPattern", "(a)\\1"}, []string{"searchPattern", "backreference"}},
		{[]string{"searchPattern", "a++"}, []string{"searchPattern", "possessive"}},
		{[]string{"searchPattern", "(unclosed"}, []string{"searchPattern", "not a valid regular expression", "missing closing )"}},
		{[]string{"searchPattern", ""}, []string{"searchPattern", "must not be empty"}},
		{[]string{"replaceString", "x"}, []string{"searchPattern", "required"}},
		{[]string{"searchPattern", "a", "charset", "UTF-16"}, []string{"charset", `"UTF-16" is not a supported charset`}},
	}
	for _, c := range cases {
		msg := configErr(t, "search_replace", c.kv...)
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%q: error %q does not contain %q", c.kv, msg, w)
			}
		}
	}
}

func TestSearchReplaceErrorIsPositioned(t *testing.T) {
	_, _, errs := decode(t, "search_replace", "charset", "UTF-8", "searchPattern", "(?<=x)y")
	if len(errs) != 1 || errs[0].Line != 2 || errs[0].Key != "a1.sources.r1.interceptors.i1.searchPattern" {
		t.Fatalf("got %v", errs)
	}
}

func TestJavaReplacementTemplate(t *testing.T) {
	re, err := javaregex.Compile("searchPattern", `(a)(?<b>b)`)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ in, tmpl string }{
		{`$1a`, `${1}a`},
		{`$2$1`, `${2}${1}`},
		{`${b}x`, `${2}x`},
		{`\$$1`, `$$${1}`},
		{`cost: \$$1`, `cost: $$${1}`},
		{`$21`, `${2}1`},
	}
	for _, c := range cases {
		got, literal, err := javaReplacement(c.in, re)
		if err != nil || literal || got != c.tmpl {
			t.Errorf("%q: got %q literal=%v err=%v, want %q", c.in, got, literal, err, c.tmpl)
		}
	}
	got, literal, err := javaReplacement(`\$5 \\ off`, re)
	if err != nil || !literal || got != `$5 \ off` {
		t.Errorf("literal: got %q %v %v", got, literal, err)
	}
}
