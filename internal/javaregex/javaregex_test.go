package javaregex

import (
	"regexp"
	"strings"
	"testing"
)

// Each case states what java.util.regex does with the pattern (find
// semantics), so the translation is checked against Java's meaning rather
// than against its own output.
func TestJavaRegexMeaning(t *testing.T) {
	cases := []struct {
		pattern string
		input   string
		want    string // the first match; "<nil>" for none
	}{
		// . excludes every Java line terminator unless (?s) or (?d).
		{`a.c`, "a\rc", "<nil>"},
		{`a.c`, "a\u2028c", "<nil>"},
		{`a.c`, "a\u0085c", "<nil>"},
		{`a.c`, "abc", "abc"},
		{`(?s)a.c`, "a\rc", "a\rc"},
		{`(?s)a.c`, "a\nc", "a\nc"},
		{`(?d)a.c`, "a\rc", "a\rc"},
		{`(?d)a.c`, "a\nc", "<nil>"},
		{`(?s:a.)c.`, "a\nc\n", "<nil>"}, // (?s:...) is scoped to its group
		{`(?s:a.)c.`, "a\ncx", "a\ncx"},
		{`((?s)a.)b.`, "a\nb\n", "<nil>"}, // (?s) ends with its group
		{`(.*)`, "abc\r\n", "abc"},
		// \s includes the vertical tab in Java, not in RE2.
		{`a\sb`, "a\x0Bb", "a\x0Bb"},
		{`[\s]+`, "x \x0B\ty", " \x0B\t"},
		{`a\Sb`, "a\x0Bb", "<nil>"},
		// \h, \v, \R.
		{`a\hb`, "a\u00A0b", "a\u00A0b"},
		{`a\hb`, "a\nb", "<nil>"},
		{`a\vb`, "a\u2028b", "a\u2028b"},
		{`a\vb`, "a b", "<nil>"},
		{`a\Hb`, "a b", "<nil>"},
		{`a\Rb`, "a\r\nb", "a\r\nb"},
		{`a\R{2}b`, "a\n\rb", "a\n\rb"},
		// Escapes RE2 spells differently.
		{`\e\[0m`, "\x1B[0m", "\x1B[0m"},
		{`\u00e9+`, "caféé", "éé"},
		{`\uD83D\uDE00`, "x😀", "😀"},
		{`\x41\x{42}`, "AB", "AB"},
		{`\0101`, "A", "A"},
		{`\cA`, "\x01", "\x01"},
		{`a\-b\/c`, "a-b/c", "a-b/c"},
		{`\é`, "é", "é"},
		{`\Q.*+\E+`, ".*+.*+", ".*+"},
		{`x\Q(`, "x(", "x("},
		// POSIX and Unicode classes.
		{`\p{Alpha}+`, "12abC3", "abC"},
		{`\P{Alpha}+`, "ab12c", "12"},
		{`[\p{Digit}_]+`, "a1_2b", "1_2"},
		{`[^\P{Alpha}]+`, "1ab2", "ab"}, // not a non-letter: a letter
		{`\p{Punct}`, "ab!", "!"},
		{`\p{Lu}+`, "abCDé", "CD"},
		{`\p{IsLu}`, "aB", "B"},
		{`\p{L}+`, "1été2", "été"},
		{`\pL+`, "1été2", "été"},
		{`\p{IsGreek}+`, "aβγd", "βγ"},
		{`\p{IsLATIN}+`, "βab", "ab"},
		{`\p{sc=Greek}`, "aβ", "β"},
		{`\p{gc=Nd}+`, "a42", "42"},
		{`\p{IsLetter}+`, "1ab", "ab"},
		{`\p{IsDigit}+`, "a12", "12"},
		{`a\p{all}b`, "a\nb", "a\nb"},
		{`[\p{all}]`, "\r", "\r"},
		// Character classes.
		{`[a-c[x-z]]+`, "mbyq", "by"},
		{`[[:alpha:]]+`, "bb:ph", ":ph"}, // Java: a nested class of ':', 'a', 'l', 'p', 'h'
		{`[]a]+`, "x]a]", "]a]"},
		{`[^]a]+`, "]ab", "b"},
		{`[a-]+`, "x-a-", "-a-"},
		{`[\\\]]+`, `x\]`, `\]`},
		{`[\Q]-\E]+`, "a]-]", "]-]"},
		{`[\u0041-\u0043]+`, "ABCD", "ABC"},
		// Groups, flags, quantifiers.
		{`(?<year>\d{4})-(\d\d)`, "on 2024-05", "2024-05"},
		{`(?i)abc`, "xABC", "ABC"},
		{`(?i:a)b`, "AB", "<nil>"},
		{`(?iu)é`, "É", "É"},
		{`(?m)^b$`, "a\nb\nc", "b"},
		{`a{2,3}?`, "aaaa", "aa"},
		{`a{2}`, "aaa", "aa"},
		{`a+?b`, "aaab", "aaab"},
		{`x*`, "", ""},
		{`^\w+\b`, "foo bar", "foo"},
		{`\Aab\z`, "ab", "ab"},
	}
	for _, c := range cases {
		re, err := Compile("regex", c.pattern)
		if err != nil {
			t.Errorf("%q: %v", c.pattern, err)
			continue
		}
		got := "<nil>"
		if loc := re.FindStringIndex(c.input); loc != nil {
			got = c.input[loc[0]:loc[1]]
		}
		if got != c.want {
			t.Errorf("%q on %q: got %q, want %q (RE2: %s)", c.pattern, c.input, got, c.want, re)
		}
	}
}

func TestJavaRegexKeepsGroupNumbers(t *testing.T) {
	re, err := Compile("regex", `(?i)(\d+)(?:-)(?<name>\w+)\Q(\E(.)\s`)
	if err != nil {
		t.Fatal(err)
	}
	if re.NumSubexp() != 3 {
		t.Fatalf("groups: got %d, want 3 (RE2: %s)", re.NumSubexp(), re)
	}
	m := re.FindStringSubmatch("12-ab(c ")
	if strings.Join(m[1:], ",") != "12,ab,c" {
		t.Fatalf("submatches: %q", m)
	}
	if re.SubexpIndex("name") != 2 {
		t.Fatalf("named group index: %d", re.SubexpIndex("name"))
	}
}

func TestJavaRegexRefusals(t *testing.T) {
	cases := []struct {
		pattern string
		want    string // in the error
	}{
		{`foo(?=bar)`, `lookahead "(?=" at offset 3`},
		{`foo(?!bar)`, `negative lookahead`},
		{`(?<=a)b`, `lookbehind "(?<="`},
		{`(?<!a)b`, `negative lookbehind`},
		{`(?>a+)b`, `atomic group`},
		{`(a)\1`, `backreference \1 at offset 3`},
		{`(?<x>a)\k<x>`, `named backreference`},
		{`a*+b`, `possessive quantifier at offset 2`},
		{`a++`, `possessive quantifier`},
		{`a?+`, `possessive quantifier`},
		{`a{2,3}+`, `possessive quantifier`},
		{`\Gfoo`, `\G`},
		{`foo\Z`, `use \z`},
		{`\X`, `grapheme`},
		{`[a-z&&[^e]]`, `intersection`},
		{`[a[^b]]`, `nested character class with negation`},
		{`[^a[b]]`, `nested character class with negation`},
		{`\p{InGreek}`, `Unicode block`},
		{`\p{javaLowerCase}`, `property \p{javaLowerCase}`},
		{`(?x) a b`, `comments flag`},
		{`(?U)\w`, `UNICODE_CHARACTER_CLASS`},
		{`[\H]`, `\H inside a character class`},
		{`[\R]`, `\R inside a character class`},
		{`\uD800`, `surrogate`},
		// Java itself refuses these.
		{`[abc`, `unclosed character class`},
		{`abc\`, `trailing backslash`},
		{`\y`, `unknown escape \y`},
		{`a{x}`, `'{'`},
		{`(?<1a>x)`, `group name`},
		{`(?<n>a)(?<n>b)`, `group name <n> is defined twice`},
		{`(?q)`, `unknown group construct`},
		{`[z-a]`, `illegal character range`},
	}
	for _, c := range cases {
		_, err := Compile("regex", c.pattern)
		if err == nil {
			t.Errorf("%q: accepted", c.pattern)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, "regex") || !strings.Contains(msg, `"`+strings.ReplaceAll(c.pattern, `\`, `\\`)+`"`) {
			t.Errorf("%q: error %q should name the property, quote the pattern and contain %q", c.pattern, msg, c.want)
		}
	}
}

func TestJavaRegexRE2ErrorsAreWrapped(t *testing.T) {
	_, err := Compile("matching", `a{1001}`)
	if err == nil || !strings.Contains(err.Error(), "matching") || !strings.Contains(err.Error(), "not a valid regular expression") {
		t.Fatalf("got %v", err)
	}
	_, err = Compile("matching", `(ab`)
	if err == nil || !strings.Contains(err.Error(), "missing closing )") {
		t.Fatalf("got %v", err)
	}
}

func TestJavaRegexTranslationIsStable(t *testing.T) {
	// Plain patterns pass through untouched, so RE2's literal-prefix
	// optimisations still apply.
	for _, p := range []string{`^<[0-9]+>`, `[A-Za-z0-9_.]+@[A-Za-z0-9_]+\.com`, `(\d):(\d):(\d)`, `ERROR|WARN`} {
		got, err := Translate(p)
		if err != nil || got != p {
			t.Errorf("%q: got %q, %v", p, got, err)
		}
		regexp.MustCompile(got)
	}
}
