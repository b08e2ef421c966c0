package javaregex

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// jesc is one translated escape: its RE2 text outside and inside a
// character class ("" where it has no form there), and the character it
// stands for when it is a single character (lit >= 0).
type jesc struct {
	outside, inside string
	lit             rune
	name            string
	at              int
}

func litEsc(r rune, at int) jesc {
	return jesc{outside: quoteRune(r), inside: quoteClassRune(r), lit: r, at: at}
}

// escape translates the escape at t.i (a backslash) and consumes it.
func (t *jtrans) escape() (jesc, error) {
	at := t.i
	c := t.peek(1)
	if c < 0 {
		return jesc{}, badSyntax(at, "a trailing backslash")
	}
	t.i += 2
	set := func(out, in, name string) (jesc, error) {
		return jesc{outside: out, inside: in, lit: -1, name: name, at: at}, nil
	}
	switch c {
	case 't':
		return litEsc('\t', at), nil
	case 'n':
		return litEsc('\n', at), nil
	case 'r':
		return litEsc('\r', at), nil
	case 'f':
		return litEsc('\f', at), nil
	case 'a':
		return litEsc(0x07, at), nil
	case 'e':
		return litEsc(0x1B, at), nil
	case '0':
		n, v := 0, rune(0)
		for n < 3 && t.i < len(t.p) && t.p[t.i] >= '0' && t.p[t.i] <= '7' {
			if n == 2 && v > 037 {
				break // \0mnn needs m <= 3
			}
			v = v*8 + t.p[t.i] - '0'
			t.i++
			n++
		}
		if n == 0 {
			return jesc{}, badSyntax(at, `an octal escape \0 without digits`)
		}
		return litEsc(v, at), nil
	case '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return jesc{}, unsupported(at, fmt.Sprintf(`a backreference \%c`, c), "")
	case 'k':
		if t.peek(0) == '<' {
			return jesc{}, unsupported(at, `a named backreference \k<...>`, "")
		}
	case 'c':
		x := t.peek(0)
		if x < 0 {
			return jesc{}, badSyntax(at, `\c without a control letter`)
		}
		t.i++
		return litEsc(x^64, at), nil
	case 'x':
		return t.hexEscape(at)
	case 'u':
		return t.unicodeEscape(at)
	case 'd', 'D', 'w', 'W':
		s := `\` + string(c)
		return set(s, s, s)
	case 's':
		return set(`[`+javaSpace+`]`, javaSpace, `\s`)
	case 'S':
		return set(`[^`+javaSpace+`]`, `\S`, `\S`)
	case 'h':
		return set(`[`+javaHSpace+`]`, javaHSpace, `\h`)
	case 'H':
		return set(`[^`+javaHSpace+`]`, "", `\H`)
	case 'v':
		return set(`[`+javaVSpace+`]`, javaVSpace, `\v`)
	case 'V':
		return set(`[^`+javaVSpace+`]`, "", `\V`)
	case 'R':
		return set(`(?:\r\n|[`+javaVSpace+`])`, "", `\R`)
	case 'b':
		if t.peek(0) == '{' {
			return jesc{}, unsupported(at, `a boundary \b{...}`, "")
		}
		return set(`\b`, "", `\b`)
	case 'B', 'A', 'z':
		s := `\` + string(c)
		return set(s, "", s)
	case 'Z':
		return jesc{}, unsupported(at, `\Z (end of input but for a final line terminator)`, `use \z, or $ which matches only at the end`)
	case 'G':
		return jesc{}, unsupported(at, `\G (end of the previous match)`, "")
	case 'X':
		return jesc{}, unsupported(at, `\X (grapheme cluster)`, "")
	case 'N':
		return jesc{}, unsupported(at, `\N{...} (character by name)`, `use \x{hhhh}`)
	case 'p', 'P':
		return t.property(at, c == 'P')
	}
	if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
		return jesc{}, badSyntax(at, fmt.Sprintf(`an unknown escape \%c`, c))
	}
	// Any other escaped character stands for itself.
	return litEsc(c, at), nil
}

func (t *jtrans) hexEscape(at int) (jesc, error) {
	var digits string
	if t.peek(0) == '{' {
		j := t.i + 1
		for j < len(t.p) && t.p[j] != '}' {
			j++
		}
		if j >= len(t.p) {
			return jesc{}, badSyntax(at, `an unterminated \x{...}`)
		}
		digits = string(t.p[t.i+1 : j])
		t.i = j + 1
	} else {
		if t.i+2 > len(t.p) {
			return jesc{}, badSyntax(at, `\x needs two hex digits`)
		}
		digits = string(t.p[t.i : t.i+2])
		t.i += 2
	}
	v, err := strconv.ParseUint(digits, 16, 32)
	if err != nil || digits == "" || v > unicode.MaxRune {
		return jesc{}, badSyntax(at, fmt.Sprintf(`an invalid hex escape \x%s`, digits))
	}
	if v >= 0xD800 && v <= 0xDFFF {
		return jesc{}, unsupported(at, "a lone UTF-16 surrogate", "")
	}
	return litEsc(rune(v), at), nil
}

func (t *jtrans) unicodeEscape(at int) (jesc, error) {
	read := func() (rune, bool) {
		if t.i+4 > len(t.p) {
			return 0, false
		}
		v, err := strconv.ParseUint(string(t.p[t.i:t.i+4]), 16, 32)
		if err != nil {
			return 0, false
		}
		t.i += 4
		return rune(v), true
	}
	r, ok := read()
	if !ok {
		return jesc{}, badSyntax(at, `\u needs four hex digits`)
	}
	if r >= 0xD800 && r <= 0xDBFF && t.peek(0) == '\\' && t.peek(1) == 'u' {
		save := t.i
		t.i += 2
		if lo, ok := read(); ok && lo >= 0xDC00 && lo <= 0xDFFF {
			return litEsc((r-0xD800)<<10+(lo-0xDC00)+0x10000, at), nil
		}
		t.i = save
	}
	if r >= 0xD800 && r <= 0xDFFF {
		return jesc{}, unsupported(at, "a lone UTF-16 surrogate", "")
	}
	return litEsc(r, at), nil
}

var javaPosix = map[string]string{
	"Lower": "lower", "Upper": "upper", "ASCII": "ascii", "Alpha": "alpha", "Digit": "digit",
	"Alnum": "alnum", "Punct": "punct", "Graph": "graph", "Print": "print", "Blank": "blank",
	"Cntrl": "cntrl", "XDigit": "xdigit", "Space": "space",
}

// Java binary properties (\p{IsLetter}) that are plain general categories.
var javaBinaryAsCategory = map[string]string{
	"LETTER": "L", "TITLECASE": "Lt", "PUNCTUATION": "P", "CONTROL": "Cc", "DIGIT": "Nd",
}

var scriptsByUpper = func() map[string]string {
	m := make(map[string]string, len(unicode.Scripts))
	for name := range unicode.Scripts {
		m[strings.ToUpper(name)] = name
	}
	return m
}()

// property translates \p{...} / \P{...} (the "\p" already consumed).
func (t *jtrans) property(at int, neg bool) (jesc, error) {
	var name string
	if t.peek(0) == '{' {
		j := t.i + 1
		for j < len(t.p) && t.p[j] != '}' {
			j++
		}
		if j >= len(t.p) {
			return jesc{}, badSyntax(at, "an unterminated \\p{...}")
		}
		name = string(t.p[t.i+1 : j])
		t.i = j + 1
	} else if t.i < len(t.p) {
		name = string(t.p[t.i])
		t.i++
	}
	shown := `\p{` + name + `}`
	uni := func(goName string) (jesc, error) {
		s := `\p{` + goName + `}`
		if neg {
			s = `\P{` + goName + `}`
		}
		return jesc{outside: s, inside: s, lit: -1, name: shown, at: at}, nil
	}
	category := func(n string) bool { _, ok := unicode.Categories[n]; return ok }
	script := func(n string) (string, bool) { s, ok := scriptsByUpper[strings.ToUpper(n)]; return s, ok }

	if k, v, ok := strings.Cut(name, "="); ok {
		switch strings.ToLower(k) {
		case "sc", "script":
			if s, ok := script(v); ok {
				return uni(s)
			}
		case "gc", "general_category":
			if category(v) {
				return uni(v)
			}
		case "blk", "block":
			return jesc{}, unsupported(at, "a Unicode block "+shown, "")
		}
		return jesc{}, unsupported(at, "the property "+shown, "")
	}
	if strings.HasPrefix(name, "In") {
		return jesc{}, unsupported(at, "a Unicode block "+shown, "")
	}
	if rest, ok := strings.CutPrefix(name, "Is"); ok {
		if c, ok := javaBinaryAsCategory[strings.ToUpper(rest)]; ok {
			return uni(c)
		}
		if category(rest) {
			return uni(rest)
		}
		if s, ok := script(rest); ok {
			return uni(s)
		}
		return jesc{}, unsupported(at, "the property "+shown, "")
	}
	if name == "all" && !neg {
		return jesc{outside: `(?s:.)`, inside: `\x{0}-\x{10FFFF}`, lit: -1, name: shown, at: at}, nil
	}
	if p, ok := javaPosix[name]; ok {
		if neg {
			return jesc{outside: "[^[:" + p + ":]]", inside: "[:^" + p + ":]", lit: -1, name: shown, at: at}, nil
		}
		return jesc{outside: "[[:" + p + ":]]", inside: "[:" + p + ":]", lit: -1, name: shown, at: at}, nil
	}
	if category(name) {
		return uni(name)
	}
	return jesc{}, unsupported(at, "the property "+shown, "")
}

// class parses a character class at t.i ('[') through its ']', returning
// RE2 class contents. Java's nested classes are unions; they are flattened
// when nothing is negated.
func (t *jtrans) class() (inner string, neg bool, err error) {
	open := t.i
	t.i++
	if t.peek(0) == '^' {
		neg = true
		t.i++
	}
	var b strings.Builder
	first := true
	for {
		if t.i >= len(t.p) {
			return "", false, badSyntax(open, "an unclosed character class")
		}
		c := t.p[t.i]
		switch {
		case c == ']' && !first:
			t.i++
			return b.String(), neg, nil
		case c == '[':
			at := t.i
			in, innerNeg, err := t.class()
			if err != nil {
				return "", false, err
			}
			if neg || innerNeg {
				return "", false, unsupported(at, "a nested character class with negation", "")
			}
			b.WriteString(in)
		case c == '&' && t.peek(1) == '&':
			return "", false, unsupported(t.i, "character class intersection &&", "")
		case c == '\\' && t.peek(1) == 'Q':
			for _, r := range t.quoted() {
				b.WriteString(quoteClassRune(r))
			}
		default:
			lo, err := t.classAtom()
			if err != nil {
				return "", false, err
			}
			if lo.lit >= 0 && t.peek(0) == '-' && t.peek(1) != ']' && t.peek(1) != '[' && t.peek(1) >= 0 {
				t.i++
				hi, err := t.classAtom()
				if err != nil {
					return "", false, err
				}
				if hi.lit < 0 {
					return "", false, badSyntax(hi.at, "a character range ending in "+hi.name)
				}
				if hi.lit < lo.lit {
					return "", false, badSyntax(lo.at, "an illegal character range (end before start)")
				}
				b.WriteString(lo.inside + "-" + hi.inside)
			} else {
				b.WriteString(lo.inside)
			}
		}
		first = false
	}
}

// classAtom reads one character or escape inside a class.
func (t *jtrans) classAtom() (jesc, error) {
	if t.p[t.i] == '\\' {
		e, err := t.escape()
		if err != nil {
			return jesc{}, err
		}
		if e.inside == "" {
			return jesc{}, unsupported(e.at, e.name+" inside a character class", "")
		}
		return e, nil
	}
	r := t.p[t.i]
	t.i++
	return litEsc(r, t.i-1), nil
}

// quoteRune writes r as an RE2 literal outside a class.
func quoteRune(r rune) string {
	if r < 0x20 || r == 0x7F || (r >= 0x80 && !unicode.IsPrint(r)) {
		return fmt.Sprintf(`\x{%X}`, r)
	}
	return regexp.QuoteMeta(string(r))
}

// quoteClassRune writes r as an RE2 literal inside a class.
func quoteClassRune(r rune) string {
	switch r {
	case '\\', ']', '[', '-', '^':
		return `\` + string(r)
	}
	if r < 0x20 || r == 0x7F || (r >= 0x80 && !unicode.IsPrint(r)) {
		return fmt.Sprintf(`\x{%X}`, r)
	}
	return string(r)
}
