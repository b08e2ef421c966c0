package conf

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseProperties reads arbitrary bytes as a properties file, both the
// way Flume reads its configuration and the way java.util.Properties alone
// does. Neither may panic; every entry has a non-empty key, set once, on a
// line that exists; and writing the entries back out with Java's escapes
// and reading that again gives the same entries (what the reader found is
// what the file says, whatever the file was).
func FuzzParseProperties(f *testing.F) {
	for _, dir := range []string{"full", "netcat", "broken"} {
		if b, err := os.ReadFile(filepath.Join("testdata", dir, "flume.conf")); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"a1.sources = r1\na1.sources.r1.type = netcat\n",
		"key\\\n   continued = value \\\n  more\n",
		"k\\ e\\=y\\:x = \\u0041\\uD83D\\uDE00\\n\\t tail  \n",
		"\\\n# comment after a lone backslash\nk=v",
		"bad = \\u12G4\n",
		"\xef\xbb\xbfbom = yes\r\nlatin = \xe9t\xe9\rnext : x",
		"a=1\na=2\n! bang\n   \f\t\n:=empty key\n",
		"trailing\\",
		"k v w\\\\\nx y\\\\\\\n z",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := 1 + bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r"))
		for _, flume := range []bool{true, false} {
			p := parseProperties(data, "f", flume)
			seen := map[string]bool{}
			for _, e := range p.Entries {
				if e.Key == "" {
					t.Fatalf("flume=%v: entry with an empty key: %+v", flume, e)
				}
				if seen[e.Key] {
					t.Fatalf("flume=%v: key %q listed twice", flume, e.Key)
				}
				seen[e.Key] = true
				if e.Line < 1 || e.Line > lines {
					t.Fatalf("flume=%v: key %q at line %d of a %d-line file", flume, e.Key, e.Line, lines)
				}
				if flume && (javaTrim(e.Key) != e.Key || javaTrim(e.Value) != e.Value) {
					t.Fatalf("flume=%v: %q = %q not trimmed", flume, e.Key, e.Value)
				}
			}
			for _, pr := range p.Problems {
				if pr.Line < 1 || pr.Line > lines {
					t.Fatalf("flume=%v: problem at line %d of a %d-line file: %s", flume, pr.Line, lines, pr.Msg)
				}
			}
			again := parseProperties(writeProperties(p.Entries), "g", flume)
			if len(again.Entries) != len(p.Entries) {
				t.Fatalf("flume=%v: %d entries, %d after writing them out and reading them back\nfirst: %q\nagain: %q",
					flume, len(p.Entries), len(again.Entries), p.Entries, again.Entries)
			}
			for i, e := range p.Entries {
				if a := again.Entries[i]; a.Key != e.Key || a.Value != e.Value {
					t.Fatalf("flume=%v: entry %d %q = %q read back as %q = %q", flume, i, e.Key, e.Value, a.Key, a.Value)
				}
			}
			for _, pr := range again.Problems {
				if !pr.Warning {
					t.Fatalf("flume=%v: the written-out file has an error: %s", flume, pr.Msg)
				}
			}
		}
	})
}

// writeProperties writes entries as a properties file in UTF-8, escaping
// what Java's reader would otherwise take as syntax.
func writeProperties(entries []Entry) []byte {
	var b strings.Builder
	esc := func(s string, key bool) {
		for i, r := range s {
			switch {
			case r == '\\':
				b.WriteString(`\\`)
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\r':
				b.WriteString(`\r`)
			case r == '\t':
				b.WriteString(`\t`)
			case r == '\f':
				b.WriteString(`\f`)
			case r == ' ' && (key || i == 0):
				b.WriteString(`\ `)
			case key && strings.ContainsRune("=:#!", r):
				b.WriteByte('\\')
				b.WriteRune(r)
			case r == '\uFEFF' || r < ' ':
				// A byte-order mark is skipped at the start of a file and
				// control characters are trimmed: keep them with \u.
				b.WriteString(`\u`)
				b.WriteString(hex4(r))
			default:
				b.WriteRune(r)
			}
		}
	}
	for _, e := range entries {
		esc(e.Key, true)
		b.WriteByte('=')
		esc(e.Value, false)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

func hex4(r rune) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[r>>12&15], digits[r>>8&15], digits[r>>4&15], digits[r&15]})
}
