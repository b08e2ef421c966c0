package conf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParsePropertiesSyntax(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
	}{
		{"equals", "a.b = c", map[string]string{"a.b": "c"}},
		{"colon", "a.b: c", map[string]string{"a.b": "c"}},
		{"blank separates", "a.b   c d", map[string]string{"a.b": "c d"}},
		{"blank then equals", "a.b \t = c", map[string]string{"a.b": "c"}},
		{"only one separator skipped", "a.b == c", map[string]string{"a.b": "= c"}},
		{"colon then equals", "a.b := c", map[string]string{"a.b": "= c"}},
		{"no separator no value", "a.b", map[string]string{"a.b": ""}},
		{"equals in value", "a.b = x=y:z", map[string]string{"a.b": "x=y:z"}},
		{"hash comment", "# a.b = c\nd = e", map[string]string{"d": "e"}},
		{"bang comment", "! a.b = c\nd = e", map[string]string{"d": "e"}},
		{"indented comment", "   \t# a.b = c\nd = e", map[string]string{"d": "e"}},
		{"inline hash is value", "a.b = c # not a comment", map[string]string{"a.b": "c # not a comment"}},
		{"hash inside key", "a#b = c", map[string]string{"a#b": "c"}},
		{"leading blanks", "   \f a.b = c", map[string]string{"a.b": "c"}},
		{"values trimmed", "a.b =   c   \t", map[string]string{"a.b": "c"}},
		{"escaped blank trimmed like Flume", `a.b = c\ `, map[string]string{"a.b": "c"}},
		{"escaped separator in key", `a\=b\:c\ d = e`, map[string]string{"a=b:c d": "e"}},
		{"escapes", `a = 1\t2\n3\r4\f5`, map[string]string{"a": "1\t2\n3\r4\f5"}},
		{"unicode escape", `a = caf\u00e9 \u00E9`, map[string]string{"a": "café é"}},
		{"surrogate pair", `a = \uD83D\uDE00!`, map[string]string{"a": "😀!"}},
		{"unknown escape drops backslash", `a = \q\x\#\\`, map[string]string{"a": `qx#\`}},
		{"backslash before non-ascii", `a = \é`, map[string]string{"a": "é"}},
		{"windows path needs doubling", `a = C:\dir\new`, map[string]string{"a": "C:dir\new"}},
		{"continuation", "a = one \\\n    two \\\n\tthree", map[string]string{"a": "one two three"}},
		{"continuation in key", "a.\\\n  b = c", map[string]string{"a.b": "c"}},
		{"continued line starting with hash is value", "a = x\\\n  # y", map[string]string{"a": "x# y"}},
		{"even backslashes do not continue", "a = x\\\\\nb = y", map[string]string{"a": `x\`, "b": "y"}},
		{"comment does not continue", "# x \\\na = b", map[string]string{"a": "b"}},
		{"continuation then blank line ends", "a = x\\\n\nb = y", map[string]string{"a": "x", "b": "y"}},
		{"continuation then blanks-only line ends", "a = x\\\n   \nb = y", map[string]string{"a": "x", "b": "y"}},
		{"lone backslash line then comment (Java 9+)", "a = 1\n  \\\n# c = d\ne = f", map[string]string{"a": "1", "e": "f"}},
		{"backslash at end of file dropped", "a = x\\", map[string]string{"a": "x"}},
		{"CR line endings", "a = 1\rb = 2\r", map[string]string{"a": "1", "b": "2"}},
		{"CRLF continuation", "a = 1\\\r\n  2\r\nb = 3", map[string]string{"a": "12", "b": "3"}},
		{"last duplicate wins", "a = 1\na = 2", map[string]string{"a": "2"}},
		{"empty value kept for the loader", "a =\nb = ", map[string]string{"a": "", "b": ""}},
		{"empty key dropped", "= x\na = b", map[string]string{"a": "b"}},
		{"utf-8 bom skipped", "\uFEFFa = b", map[string]string{"a": "b"}},
		{"utf-8 read as utf-8", "a = Zürich ✓", map[string]string{"a": "Zürich ✓"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ParseProperties([]byte(tt.in), "f.conf")
			got := map[string]string{}
			for _, e := range p.Entries {
				got[e.Key] = e.Value
			}
			if len(got) != len(tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			for k, v := range tt.want {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("%q = %q (present %v), want %q", k, g, ok, v)
				}
			}
			for _, e := range p.Problems {
				if !e.Warning {
					t.Errorf("unexpected error: %v", e)
				}
			}
		})
	}
}

func TestParsePropertiesLines(t *testing.T) {
	in := "# header\n\na = 1\nb = one \\\n  two \\\n  three\r\n\r\nc:3\n  d 4\n"
	p := ParseProperties([]byte(in), "f.conf")
	want := []Entry{
		{Key: "a", Value: "1", File: "f.conf", Line: 3},
		{Key: "b", Value: "one two three", File: "f.conf", Line: 4},
		{Key: "c", Value: "3", File: "f.conf", Line: 8},
		{Key: "d", Value: "4", File: "f.conf", Line: 9},
	}
	if len(p.Entries) != len(want) {
		t.Fatalf("entries %+v, want %+v", p.Entries, want)
	}
	for i, w := range want {
		if p.Entries[i] != w {
			t.Errorf("entry %d = %+v, want %+v", i, p.Entries[i], w)
		}
	}
}

func TestParsePropertiesDuplicateWarns(t *testing.T) {
	p := ParseProperties([]byte("a.x = 1\nb = 2\na.x = 3\n"), "f.conf")
	if e, _ := p.Get("a.x"); e.Value != "3" || e.Line != 3 {
		t.Errorf("a.x = %+v, want value 3 from line 3", e)
	}
	// First appearance keeps its place in the order.
	if p.Entries[0].Key != "a.x" {
		t.Errorf("order %+v", p.Entries)
	}
	if len(p.Problems) != 1 {
		t.Fatalf("problems %v", p.Problems)
	}
	e := p.Problems[0]
	if !e.Warning || e.Line != 3 || !strings.Contains(e.Error(), "a.x (f.conf:3)") || !strings.Contains(e.Msg, "f.conf:1") {
		t.Errorf("duplicate warning = %v (warning %v)", e, e.Warning)
	}
}

func TestParsePropertiesMalformedUnicode(t *testing.T) {
	p := ParseProperties([]byte("a.x = \\u12G4\na.y = \\u12\nb = ok\n"), "f.conf")
	if _, ok := p.Get("b"); !ok {
		t.Error("the lines after a bad escape must still be read")
	}
	if _, ok := p.Get("a.x"); ok {
		t.Error("a.x with a malformed escape must be dropped")
	}
	if len(p.Problems) != 2 {
		t.Fatalf("problems %v", p.Problems)
	}
	for i, line := range []int{1, 2} {
		e := p.Problems[i]
		if e.Warning || e.Line != line || !strings.Contains(e.Msg, `malformed \uXXXX`) {
			t.Errorf("problem %d = %v", i, e)
		}
	}
}

func TestParsePropertiesLatin1Fallback(t *testing.T) {
	// "café" in ISO-8859-1: é is the single byte 0xE9, invalid as UTF-8.
	p := ParseProperties([]byte("a = 1\nb = caf\xe9\n"), "f.conf")
	if e, _ := p.Get("b"); e.Value != "café" {
		t.Errorf("b = %q, want café", e.Value)
	}
	if len(p.Problems) != 1 || !p.Problems[0].Warning || p.Problems[0].Line != 2 ||
		!strings.Contains(p.Problems[0].Msg, "ISO-8859-1") {
		t.Errorf("problems %v", p.Problems)
	}
}

func TestReadPropertiesMerge(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.conf")
	over := filepath.Join(dir, "override.conf")
	os.WriteFile(base, []byte("a = 1\nb = 2\n"), 0o644)
	os.WriteFile(over, []byte("\nb = 3\nc = 4\n"), 0o644)
	p, err := ReadProperties(base, over)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Entry{
		"a": {Key: "a", Value: "1", File: base, Line: 1},
		"b": {Key: "b", Value: "3", File: over, Line: 2},
		"c": {Key: "c", Value: "4", File: over, Line: 3},
	}
	for k, w := range want {
		if e, _ := p.Get(k); e != w {
			t.Errorf("%s = %+v, want %+v", k, e, w)
		}
	}
	if len(p.Problems) != 0 {
		t.Errorf("overriding in a later file is not a problem: %v", p.Problems)
	}
}

func TestReadPropertiesMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.conf")
	_, err := ReadProperties(missing)
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("err = %v, want one naming %s", err, missing)
	}
	if _, err := ReadProperties(); err == nil {
		t.Error("no files must be an error")
	}
	if _, err := ReadProperties(t.TempDir()); err == nil || !strings.Contains(err.Error(), "reading configuration file") {
		t.Errorf("a directory: err = %v", err)
	}
}

// Flume's clients read header files with plain java.util.Properties:
// escaped leading blanks and trailing blanks stay in the value.
func TestParseJavaPropertiesKeepsBlanks(t *testing.T) {
	p := ParseJavaProperties([]byte("a = \\  x  \nb=  y\n"), "h.properties")
	if e, _ := p.Get("a"); e.Value != "  x  " {
		t.Errorf("a = %q, want %q", e.Value, "  x  ")
	}
	if e, _ := p.Get("b"); e.Value != "y" {
		t.Errorf("b = %q, want %q (unescaped leading blanks are separators)", e.Value, "y")
	}
	q := ParseProperties([]byte("a = \\  x  \n"), "agent.conf")
	if e, _ := q.Get("a"); e.Value != "x" {
		t.Errorf("Flume's agent config trims: a = %q, want %q", e.Value, "x")
	}
}
