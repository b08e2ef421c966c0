package spooldir

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// readAll runs a deserializer over content in batches of n and returns the
// bodies, the position after each batch and the final error.
func readAll(t *testing.T, content string, n int, open func(f *os.File) (deserializer, error)) ([]string, []position, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	d, err := open(f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	defer d.close()
	var out []string
	var pos []position
	for {
		var b batch
		b.reset(n)
		err := d.next(&b, n)
		for _, e := range b.events {
			out = append(out, string(e.Body))
		}
		if len(b.events) > 0 {
			pos = append(pos, d.pos())
		}
		if err != nil || len(b.events) == 0 {
			return out, pos, err
		}
	}
}

func lineOpen(in, out charset, policy string, max int, off int64) func(*os.File) (deserializer, error) {
	return func(f *os.File) (deserializer, error) { return newLineReader(f, off, in, out, policy, max) }
}

func TestLineDeserializer(t *testing.T) {
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name    string
		content string
		in, out charset
		policy  string
		max     int
		want    []string
	}{
		{"plain lines", "a\nbb\n\nccc\n", csUTF8, csUTF8, "FAIL", 2048, []string{"a", "bb", "", "ccc"}},
		{"last line without newline", "a\nlast", csUTF8, csUTF8, "FAIL", 2048, []string{"a", "last"}},
		{"carriage return stays in the body", "a\r\nb\r\n", csUTF8, csUTF8, "FAIL", 2048, []string{"a\r", "b\r"}},
		{"long line is cut into pieces", "abcdefgh\nij\n", csUTF8, csUTF8, "FAIL", 3, []string{"abc", "def", "gh", "ij"}},
		{"exactly max characters: no empty event", "abc\nabcdef\nx\n", csUTF8, csUTF8, "FAIL", 3, []string{"abc", "abc", "def", "x"}},
		{"max counts characters, not bytes", "ééé\né\n", csUTF8, csUTF8, "FAIL", 2, []string{"éé", "é", "é"}},
		{"a surrogate pair is never split", "a😀b\n", csUTF8, csUTF8, "FAIL", 2, []string{"a", "😀", "b"}},
		{"long line cut at maxLineLength", long + "\nz\n", csUTF8, csUTF8, "FAIL", 2048, []string{long[:2048], long[:2048], long[:904], "z"}},
		{"replace: one U+FFFD per malformed sequence", "a\xe2\x82b\xffc\xed\xa0\x80d\n", csUTF8, csUTF8, "REPLACE", 2048, []string{"a\ufffdb\ufffdc\ufffdd"}},
		{"ignore drops invalid bytes", "a\xffb\n\xff\n", csUTF8, csUTF8, "IGNORE", 2048, []string{"ab", ""}},
		{"latin-1 in, UTF-8 out", "caf\xe9\n", csLatin1, csUTF8, "FAIL", 2048, []string{"café"}},
		{"UTF-8 in, latin-1 out, unmappable is ?", "café 😀\n", csUTF8, csLatin1, "FAIL", 2048, []string{"caf\xe9 ?"}},
		{"ASCII in with REPLACE", "a\x80b\n", csASCII, csUTF8, "REPLACE", 2048, []string{"a\ufffdb"}},
		{"empty file", "", csUTF8, csUTF8, "FAIL", 2048, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := readAll(t, tt.content, 2, lineOpen(tt.in, tt.out, tt.policy, tt.max, 0))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestLineLongerThanTheReadBuffer(t *testing.T) {
	// 3 MiB without a newline, then a short line: the reader must cut
	// without ever holding the whole line.
	line := strings.Repeat("0123456789", 3<<20/10)
	got, _, err := readAll(t, line+"\nend\n", 7, lineOpen(csUTF8, csUTF8, "FAIL", 1<<20, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || strings.Join(got[:3], "") != line || got[3] != "end" {
		t.Fatalf("got %d pieces", len(got))
	}
	got, _, _ = readAll(t, line, 7, lineOpen(csLatin1, csUTF8, "FAIL", 1<<20, 0))
	if strings.Join(got, "") != line || len(got) != 3 {
		t.Fatalf("latin-1 path: %d pieces", len(got))
	}
}

// TestLinesAcrossChunks reads 5 MiB of lines of every length, some of them
// multibyte and some invalid (REPLACE), so that lines straddle the 1 MiB
// read chunks at every kind of byte, and chunks are ASCII or not. Every
// line must come out as written, and the positions must add up.
func TestLinesAcrossChunks(t *testing.T) {
	var content strings.Builder
	var want []string
	for i := 0; content.Len() < 5<<20; i++ {
		var line string
		switch {
		case i%997 == 0:
			line = strings.Repeat("é", i%300) + "x" // two bytes a character
		case i%1499 == 0:
			line = "bad\xff" + strings.Repeat("y", i%50) // replaced
		default:
			line = strings.Repeat(string(rune('a'+i%26)), i%731)
		}
		content.WriteString(line + "\n")
		want = append(want, strings.ToValidUTF8(line, "\ufffd"))
	}
	for _, n := range []int{1, 1000} {
		got, pos, err := readAll(t, content.String(), n, lineOpen(csUTF8, csUTF8, "REPLACE", 2048, 0))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("batch %d: %d lines, want %d", n, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("batch %d: line %d is %q, want %q", n, i, got[i], want[i])
			}
		}
		if last := pos[len(pos)-1].off; last != int64(content.Len()) {
			t.Fatalf("batch %d: last position %d, want %d", n, last, content.Len())
		}
	}
}

func TestLineDeserializerPositionsAndResume(t *testing.T) {
	content := "one\ntwo\r\nthree\nfour"
	_, pos, err := readAll(t, content, 2, lineOpen(csUTF8, csUTF8, "FAIL", 2048, 0))
	if err != nil {
		t.Fatal(err)
	}
	if want := []position{{off: 9}, {off: 19}}; !reflect.DeepEqual(pos, want) {
		t.Fatalf("positions %v, want %v", pos, want)
	}
	got, _, err := readAll(t, content, 10, lineOpen(csUTF8, csUTF8, "FAIL", 2048, 9))
	if err != nil || strings.Join(got, "|") != "three|four" {
		t.Fatalf("resume at 9: %q %v", got, err)
	}
}

func TestLineDeserializerFailNamesTheByte(t *testing.T) {
	got, pos, err := readAll(t, "ok\nok2\nbad\xc3(\n", 10, lineOpen(csUTF8, csUTF8, "FAIL", 2048, 0))
	var ce *contentError
	if !errors.As(err, &ce) || ce.off != 10 {
		t.Fatalf("err %v, want a content error at byte 10", err)
	}
	if strings.Join(got, "|") != "ok|ok2" || pos[len(pos)-1].off != 7 {
		t.Fatalf("events before the error %q at %v", got, pos)
	}
}

func TestMaximalSubpart(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"\xff", 1}, {"\xc3(", 1}, {"\xe2\x82(", 2}, {"\xe0\x80\x80", 1}, {"\xf0\x9f\x98(", 3},
		{"\xf4\x90\x80\x80", 1}, {"\xed\xa0\x80", 3}, {"\xe2", 1},
	}
	for _, tt := range tests {
		if got := maximalSubpart([]byte(tt.in)); got != tt.want {
			t.Errorf("maximalSubpart(% x) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestBlobDeserializer(t *testing.T) {
	open := func(max int, off int64) func(*os.File) (deserializer, error) {
		return func(f *os.File) (deserializer, error) { return newBlobReader(f, off, max) }
	}
	bin := "\x00\xff\nbinary\r\n"
	got, pos, err := readAll(t, bin, 5, open(100000000, 0))
	if err != nil || len(got) != 1 || got[0] != bin || pos[0].off != int64(len(bin)) {
		t.Fatalf("whole file: %q %v %v", got, pos, err)
	}
	got, _, _ = readAll(t, "abcdefghij", 5, open(4, 0))
	if strings.Join(got, "|") != "abcd|efgh|ij" {
		t.Fatalf("cut: %q", got)
	}
	got, _, _ = readAll(t, "abcdefghij", 5, open(4, 4))
	if strings.Join(got, "|") != "efgh|ij" {
		t.Fatalf("resumed: %q", got)
	}
}
