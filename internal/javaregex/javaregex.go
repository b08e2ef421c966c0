// Package javaregex translates java.util.regex patterns, as Flume users write
// them, into Go RE2 syntax with the same meaning, and refuses clearly the
// constructs RE2 cannot run (lookaround, backreferences, ...).
package javaregex

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/sluiceio/sluice/conf"
)

// Compile translates a java.util.regex pattern to RE2 and compiles
// it. Errors blame key and quote the pattern as the user wrote it.
func Compile(key, pattern string) (*regexp.Regexp, error) {
	tr, err := Translate(pattern)
	if err != nil {
		return nil, conf.Invalid(key, "%q %v", pattern, err)
	}
	re, err := regexp.Compile(tr)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		return nil, conf.Invalid(key, "%q is not a valid regular expression: %s", pattern, msg)
	}
	return re, nil
}

// javaRegexError names a Java construct that RE2 cannot run, or Java syntax
// that Java itself rejects.
type javaRegexError struct {
	what   string
	offset int // in characters
	hint   string
	syntax bool // Java rejects it too
}

func (e *javaRegexError) Error() string {
	var s string
	if e.syntax {
		s = fmt.Sprintf("is not a valid Java regular expression: %s at offset %d", e.what, e.offset)
	} else {
		s = fmt.Sprintf("uses %s at offset %d, which Go's RE2 regex engine does not support", e.what, e.offset)
	}
	if e.hint != "" {
		s += " (" + e.hint + ")"
	}
	return s
}

// jflags are the Java flags the translation itself must honour; i and m
// are passed through to RE2, which means the same by them.
type jflags struct {
	dotall    bool // (?s): . matches everything
	unixLines bool // (?d): only \n ends a line
}

type jtrans struct {
	p         []rune
	i         int
	out       strings.Builder
	cur       jflags
	stack     []jflags // flags to restore at each open group's ')'
	lastQuant bool     // the previous token was a quantifier
	names     map[string]bool
}

// Sets RE2 lacks a shorthand for, as class contents.
const (
	javaSpace  = `\t\n\x0B\f\r `
	javaHSpace = `\t \x{A0}\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}`
	javaVSpace = `\n\x0B\f\r\x{85}\x{2028}\x{2029}`
	// Java's . excludes every line terminator, RE2's only \n.
	javaDot = `[^\n\r\x{85}\x{2028}\x{2029}]`
)

// Translate rewrites a Java pattern into RE2 syntax with the same
// meaning, or says which construct cannot be expressed. It never adds
// capturing groups, so group numbers are unchanged.
func Translate(pattern string) (string, error) {
	t := &jtrans{p: []rune(pattern)}
	for t.i < len(t.p) {
		if err := t.step(); err != nil {
			return "", err
		}
	}
	return t.out.String(), nil
}

func (t *jtrans) peek(k int) rune {
	if t.i+k < len(t.p) {
		return t.p[t.i+k]
	}
	return -1
}

func (t *jtrans) hasAt(k int, s string) bool {
	j := t.i + k
	for _, r := range s {
		if j >= len(t.p) || t.p[j] != r {
			return false
		}
		j++
	}
	return true
}

func unsupported(at int, what, hint string) error {
	return &javaRegexError{what: what, offset: at, hint: hint}
}

func badSyntax(at int, what string) error {
	return &javaRegexError{what: what, offset: at, syntax: true}
}

func (t *jtrans) step() error {
	r := t.p[t.i]
	quant := false
	defer func() { t.lastQuant = quant }()
	switch r {
	case '\\':
		if t.peek(1) == 'Q' {
			t.out.WriteString(regexp.QuoteMeta(t.quoted()))
			return nil
		}
		e, err := t.escape()
		if err != nil {
			return err
		}
		if e.outside == "" {
			return unsupported(e.at, e.name+" outside a character class", "")
		}
		t.out.WriteString(e.outside)
	case '[':
		at := t.i
		inner, neg, err := t.class()
		if err != nil {
			return err
		}
		if inner == "" {
			return badSyntax(at, "empty character class")
		}
		t.out.WriteByte('[')
		if neg {
			t.out.WriteByte('^')
		}
		t.out.WriteString(inner)
		t.out.WriteByte(']')
	case '(':
		return t.group()
	case ')':
		if n := len(t.stack); n > 0 {
			t.cur = t.stack[n-1]
			t.stack = t.stack[:n-1]
		}
		t.out.WriteByte(')')
		t.i++
	case '.':
		switch {
		case t.cur.dotall:
			t.out.WriteString(`(?s:.)`)
		case t.cur.unixLines:
			t.out.WriteString(`[^\n]`)
		default:
			t.out.WriteString(javaDot)
		}
		t.i++
	case '*', '+', '?':
		if t.lastQuant && r == '+' {
			return unsupported(t.i, "a possessive quantifier", "drop the trailing '+' for a greedy quantifier")
		}
		t.out.WriteRune(r)
		t.i++
		// A '?' after a quantifier makes it lazy and ends it.
		quant = !(t.lastQuant && r == '?')
	case '{':
		if n := t.repeatLen(); n > 0 {
			t.out.WriteString(string(t.p[t.i : t.i+n]))
			t.i += n
			quant = true
			return nil
		}
		return badSyntax(t.i, "'{' that does not start a repetition {n}, {n,} or {n,m}")
	default:
		t.out.WriteRune(r)
		t.i++
	}
	return nil
}

// repeatLen returns the length of a {n}, {n,} or {n,m} at t.i, or 0.
func (t *jtrans) repeatLen() int {
	j := t.i + 1
	digits := func() int {
		s := j
		for j < len(t.p) && t.p[j] >= '0' && t.p[j] <= '9' {
			j++
		}
		return j - s
	}
	if digits() == 0 {
		return 0
	}
	if j < len(t.p) && t.p[j] == ',' {
		j++
		digits()
	}
	if j < len(t.p) && t.p[j] == '}' {
		return j + 1 - t.i
	}
	return 0
}

// group handles '(' and the (?...) constructs.
func (t *jtrans) group() error {
	at := t.i
	if t.peek(1) != '?' {
		t.stack = append(t.stack, t.cur)
		t.out.WriteByte('(')
		t.i++
		return nil
	}
	switch {
	case t.hasAt(2, "="):
		return unsupported(at, `a lookahead "(?="`, "")
	case t.hasAt(2, "!"):
		return unsupported(at, `a negative lookahead "(?!"`, "")
	case t.hasAt(2, "<="):
		return unsupported(at, `a lookbehind "(?<="`, "")
	case t.hasAt(2, "<!"):
		return unsupported(at, `a negative lookbehind "(?<!"`, "")
	case t.hasAt(2, ">"):
		return unsupported(at, `an atomic group "(?>"`, "")
	case t.hasAt(2, "<"):
		j := t.i + 3
		for j < len(t.p) && t.p[j] != '>' {
			c := t.p[j]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > t.i+3 && c >= '0' && c <= '9') {
				return badSyntax(j, "a group name must be a letter followed by letters or digits")
			}
			j++
		}
		if j >= len(t.p) || j == t.i+3 {
			return badSyntax(at, "unterminated or empty group name")
		}
		name := string(t.p[t.i+3 : j])
		if t.names[name] {
			return badSyntax(at, fmt.Sprintf("group name <%s> is defined twice", name))
		}
		if t.names == nil {
			t.names = map[string]bool{}
		}
		t.names[name] = true
		t.stack = append(t.stack, t.cur)
		t.out.WriteString("(?P<" + name + ">")
		t.i = j + 1
		return nil
	}
	// Inline flags: (?idmsuxU-idmsuxU) or (?idmsux-idmsux:X).
	j := t.i + 2
	var on, off strings.Builder
	nf, neg := t.cur, false
	for ; j < len(t.p); j++ {
		c := t.p[j]
		if c == ')' || c == ':' {
			break
		}
		switch c {
		case '-':
			if neg {
				return badSyntax(j, "a second '-' in inline flags")
			}
			neg = true
		case 'i', 'm':
			if neg {
				off.WriteRune(c)
			} else {
				on.WriteRune(c)
			}
		case 's':
			nf.dotall = !neg
		case 'd':
			nf.unixLines = !neg
		case 'u':
			// Unicode case folding: RE2 always folds all of Unicode.
		case 'x':
			if !neg {
				return unsupported(j, "the comments flag (?x)", "remove the whitespace and comments from the pattern")
			}
		case 'U':
			if !neg {
				return unsupported(j, "the UNICODE_CHARACTER_CLASS flag (?U)", "")
			}
		default:
			return badSyntax(at, fmt.Sprintf("unknown group construct or inline flag %q", "(?"+string(c)))
		}
	}
	if j >= len(t.p) {
		return badSyntax(at, "unterminated inline flags")
	}
	flags := on.String()
	if off.Len() > 0 {
		flags += "-" + off.String()
	}
	if t.p[j] == ')' {
		// Applies to the rest of the enclosing group.
		t.cur = nf
		if flags != "" {
			t.out.WriteString("(?" + flags + ")")
		}
	} else {
		t.stack = append(t.stack, t.cur)
		t.cur = nf
		t.out.WriteString("(?" + flags + ":")
	}
	t.i = j + 1
	return nil
}

// quoted consumes \Q...\E (or \Q to the end) and returns the literal text.
func (t *jtrans) quoted() string {
	start := t.i + 2
	for j := start; j+1 < len(t.p); j++ {
		if t.p[j] == '\\' && t.p[j+1] == 'E' {
			t.i = j + 2
			return string(t.p[start:j])
		}
	}
	t.i = len(t.p)
	return string(t.p[start:])
}
