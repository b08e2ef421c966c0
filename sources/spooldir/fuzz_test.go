package spooldir

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzLineDeserializer reads arbitrary file content with the LINE
// deserializer (UTF-8 or ISO-8859-1 in, UTF-8 out, REPLACE or IGNORE,
// maxLineLength and batch size from the input). It may not panic or fail;
// every body is valid UTF-8 of at most maxLineLength characters (or one
// character); the
// bodies put together are the decoded content without its newlines
// (nothing lost, nothing invented, for content valid in its charset); the
// positions only move forward and end at the end of the file; and reading
// again from the position after the first batch gives exactly the rest.
func FuzzLineDeserializer(f *testing.F) {
	f.Add([]byte("one\ntwo\r\nthree"), uint8(100), uint8(2), uint8(0))
	f.Add([]byte("\n\n\nx\n"), uint8(1), uint8(1), uint8(0))
	f.Add([]byte(strings.Repeat("abcdef", 60)+"\n"+strings.Repeat("é😀", 50)), uint8(7), uint8(3), uint8(0))
	f.Add([]byte("caf\xe9\n\xff\xfe\xc3\n\xf0\x9f\x98"), uint8(4), uint8(5), uint8(1))
	f.Add([]byte("caf\xe9\n\xff\xfe\xc3\n\xf0\x9f\x98"), uint8(4), uint8(5), uint8(2))
	f.Add([]byte("😀😀😀\n"), uint8(1), uint8(1), uint8(0))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, maxLen, batchSize, mode uint8) {
		if len(data) > 4096 {
			return
		}
		max := int(maxLen%200) + 1
		n := int(batchSize%64) + 1
		in, policy := csUTF8, "REPLACE"
		switch mode % 3 {
		case 1:
			policy = "IGNORE"
		case 2:
			in = csLatin1
		}
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		read := func(off int64) ([]string, []int64) {
			fd, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			d, err := newLineReader(fd, off, in, csUTF8, policy, max)
			if err != nil {
				t.Fatal(err)
			}
			defer d.close()
			var bodies []string
			var pos []int64
			for {
				var b batch
				b.reset(n)
				if err := d.next(&b, n); err != nil {
					t.Fatalf("%s %s max %d: %v", in, policy, max, err)
				}
				if len(b.events) > n {
					t.Fatalf("%d events in a batch of %d", len(b.events), n)
				}
				for _, e := range b.events {
					bodies = append(bodies, string(e.Body))
				}
				if len(b.events) == 0 {
					return bodies, pos
				}
				pos = append(pos, d.pos().off)
			}
		}
		bodies, pos := read(0)
		for _, body := range bodies {
			if !utf8.ValidString(body) {
				t.Fatalf("body %q is not valid UTF-8", body)
			}
			u := 0
			for _, r := range body {
				u += units(r)
			}
			// One character wider than the limit (a surrogate pair under
			// maxLineLength 1) is a body of its own rather than split.
			if u > max && utf8.RuneCountInString(body) > 1 {
				t.Fatalf("body %q has %d characters, maxLineLength %d", body, u, max)
			}
		}
		for i := range pos {
			if pos[i] > int64(len(data)) || i > 0 && pos[i] <= pos[i-1] {
				t.Fatalf("positions %v in a file of %d bytes", pos, len(data))
			}
		}
		if len(pos) > 0 && pos[len(pos)-1] != int64(len(data)) && bytes.ContainsAny(data[pos[len(pos)-1]:], "\n") {
			t.Fatalf("stopped at byte %d of %d, before a newline", pos[len(pos)-1], len(data))
		}
		want, exact := decoded(data, in)
		if got := strings.Join(bodies, ""); exact && got != want {
			t.Fatalf("%s %s max %d: bodies put together\n%q\nwant the content without newlines\n%q", in, policy, max, got, want)
		}
		if len(pos) > 1 {
			first := len(bodies) - countAfter(bodies, pos, n)
			rest, _ := read(pos[0])
			if strings.Join(rest, "\x00") != strings.Join(bodies[first:], "\x00") {
				t.Fatalf("resuming at byte %d gave %q, want %q", pos[0], rest, bodies[first:])
			}
		}
	})
}

// countAfter is how many bodies came after the first batch: every batch
// but the last is full.
func countAfter(bodies []string, pos []int64, n int) int { return len(bodies) - min(n, len(bodies)) }

// decoded is data in charset in without its newlines, and whether every
// byte was valid (so that nothing was replaced or ignored).
func decoded(data []byte, in charset) (string, bool) {
	// Valid as a whole with its newlines: removing them can join the
	// halves of a broken character into a valid one.
	valid := utf8.Valid(data)
	data = bytes.ReplaceAll(data, []byte("\n"), nil)
	if in == csLatin1 {
		var b strings.Builder
		for _, c := range data {
			b.WriteRune(rune(c))
		}
		return b.String(), true
	}
	return string(data), valid
}
