package interop

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/test/peers"
)

// numEvents is how many events every interop case sends.
const numEvents = 100_000

// runeRanges are where random header text comes from: ASCII, Latin-1,
// Cyrillic, CJK, and emoji (4 bytes in UTF-8, a surrogate pair in Java).
var runeRanges = [][2]rune{
	{' ', '~'}, {' ', '~'}, {' ', '~'}, {0xa0, 0xff}, {0x400, 0x4ff}, {0x4e00, 0x4fff}, {0x1f300, 0x1f64f},
}

// randText returns up to max runes of random text; withControls adds tabs,
// newlines and NULs, which Avro strings carry as they are.
func randText(r *rand.Rand, max int, withControls bool) string {
	var sb strings.Builder
	for n := r.IntN(max + 1); n > 0; n-- {
		if withControls && r.IntN(40) == 0 {
			sb.WriteByte("\t\n\x00"[r.IntN(3)])
			continue
		}
		rg := runeRanges[r.IntN(len(runeRanges))]
		sb.WriteRune(rg[0] + rune(r.IntN(int(rg[1]-rg[0]+1))))
	}
	return sb.String()
}

// randBody returns 0..2048 bytes: mostly uniformly random bytes, some of
// them from a four-symbol alphabet (so deflate has something to do), and
// about one in fifty empty.
func randBody(r *rand.Rand) []byte {
	if r.IntN(50) == 0 {
		return []byte{}
	}
	b := make([]byte, r.IntN(2049))
	if r.IntN(3) == 0 {
		for i := range b {
			b[i] = "\x00\xffab"[r.IntN(4)]
		}
		return b
	}
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// genEvents returns n events with a "seq" header (the event's index, so a
// mismatch names its event), two to six more random headers (rarely none),
// non-ASCII keys and values, and random binary bodies.
func genEvents(seed uint64, n int) []peers.Event {
	r := rand.New(rand.NewPCG(seed, 0x1f1e))
	keys := []string{"host", "timestamp", "topic", "ключ", "键", "a.b.c", "x-y", "emoji🙂", ""}
	out := make([]peers.Event, n)
	for i := range out {
		h := map[string]string{"seq": strconv.Itoa(i)}
		extra := 2 + r.IntN(5)
		if r.IntN(100) == 0 {
			extra = 0
		}
		for len(h) < extra+1 {
			k := keys[r.IntN(len(keys))]
			if r.IntN(3) == 0 {
				k = randText(r, 16, false)
			}
			h[k] = randText(r, 48, true)
		}
		out[i] = peers.Event{Headers: h, Body: randBody(r)}
	}
	return out
}

// seed picks a fresh seed for each run and logs it, so a failure can be
// replayed by pinning it here.
func seed(t *testing.T) uint64 {
	s := uint64(time.Now().UnixNano())
	t.Logf("event seed %d", s)
	return s
}

func toSluice(events []peers.Event) []*sluice.Event {
	out := make([]*sluice.Event, len(events))
	for i := range events {
		out[i] = &sluice.Event{Headers: events[i].Headers, Body: events[i].Body}
	}
	return out
}

// sameEvents compares what arrived with what was sent, in order: every
// header (a map: Avro defines no order for it) and every body byte.
func sameEvents(t *testing.T, got, want []peers.Event) {
	t.Helper()
	for i := 0; i < len(got) && i < len(want); i++ {
		if d := diffEvent(got[i], want[i]); d != "" {
			t.Fatalf("event %d of %d differs: %s", i, len(want), d)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
}

func diffEvent(got, want peers.Event) string {
	if !bytes.Equal(got.Body, want.Body) {
		return fmt.Sprintf("body (%d bytes) %s, want (%d bytes) %s", len(got.Body), clip(got.Body), len(want.Body), clip(want.Body))
	}
	if len(got.Headers) != len(want.Headers) {
		return fmt.Sprintf("headers %s, want %s", showHeaders(got.Headers), showHeaders(want.Headers))
	}
	for k, v := range want.Headers {
		if gv, ok := got.Headers[k]; !ok || gv != v {
			return fmt.Sprintf("header %q = %q (present %v), want %q", k, gv, ok, v)
		}
	}
	return ""
}

func clip(b []byte) string {
	if len(b) > 32 {
		return fmt.Sprintf("%x...", b[:32])
	}
	return fmt.Sprintf("%x", b)
}

func showHeaders(h map[string]string) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, "%q=%q ", k, h[k])
	}
	return "{" + strings.TrimSpace(sb.String()) + "}"
}

// readEvents decodes the avro_event files of a file_roll sink's directory.
func readEvents(t *testing.T, dir string) []peers.Event {
	t.Helper()
	ev, err := peers.ReadAvroEventDir(dir)
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return ev
}

// javaProps writes headers as a java.util.Properties file, which
// Properties.load reads as ISO-8859-1: everything outside printable ASCII,
// and the characters the format gives a meaning, are escaped.
func javaProps(h map[string]string) []byte {
	esc := func(s string, key bool) string {
		var sb strings.Builder
		for i, r := range s {
			switch {
			case r == '\\' || r == '=' || r == ':' || r == '#' || r == '!':
				sb.WriteByte('\\')
				sb.WriteRune(r)
			case r == ' ' && (key || i == 0):
				sb.WriteString(`\ `)
			case r == '\t':
				sb.WriteString(`\t`)
			case r == '\n':
				sb.WriteString(`\n`)
			case r == '\r':
				sb.WriteString(`\r`)
			case r >= 0x20 && r < 0x7f:
				sb.WriteRune(r)
			default:
				for _, u := range utf16Units(r) {
					fmt.Fprintf(&sb, `\u%04x`, u)
				}
			}
		}
		return sb.String()
	}
	var b bytes.Buffer
	for _, k := range sortedKeys(h) {
		fmt.Fprintf(&b, "%s=%s\n", esc(k, true), esc(h[k], false))
	}
	return b.Bytes()
}

func utf16Units(r rune) []uint16 {
	if r < 0x10000 {
		return []uint16{uint16(r)}
	}
	r -= 0x10000
	return []uint16{uint16(0xd800 + (r >> 10)), uint16(0xdc00 + (r & 0x3ff))}
}

func sortedKeys[V any](h map[string]V) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// textLines returns n random lines of text (valid UTF-8, non-ASCII too, no
// line terminators; some empty) as one file's content and as the bodies
// they must become.
func textLines(seed uint64, n int) ([]byte, [][]byte) {
	r := rand.New(rand.NewPCG(seed, 0x7e47))
	var file bytes.Buffer
	bodies := make([][]byte, n)
	for i := range bodies {
		line := fmt.Sprintf("%06d %s", i, randText(r, 200, false))
		if r.IntN(100) == 0 {
			line = ""
		}
		bodies[i] = []byte(line)
		file.WriteString(line)
		file.WriteByte('\n')
	}
	return file.Bytes(), bodies
}

// linesWithHeaders is what a line client should deliver: one event per
// line, each with the same headers.
func linesWithHeaders(bodies [][]byte, h map[string]string) []peers.Event {
	out := make([]peers.Event, len(bodies))
	for i, b := range bodies {
		out[i] = peers.Event{Headers: h, Body: b}
	}
	return out
}

// cliHeaders are the headers given to avro-client with -R: non-ASCII
// values, and characters a properties file must escape.
var cliHeaders = map[string]string{
	"source":     "avro-client",
	"host name":  "ünïcödé.example",
	"ключ":       "значение",
	"emoji":      "🙂 ok",
	"path":       `C:\logs\app=1:2`,
	"empty":      "",
	"leading sp": "  two spaces",
}

func mustWrite(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
