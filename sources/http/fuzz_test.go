package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"testing"

	"github.com/sluiceio/sluice"
)

// FuzzJSONHandler feeds arbitrary bodies to the JSON handler: it must never
// panic, must refuse with a 400 and a message, and what it accepts must
// come out the same when written back as JSON and read again. The seed
// corpus is in testdata/fuzz/FuzzJSONHandler; a plain go test runs it.
func FuzzJSONHandler(f *testing.F) {
	for _, s := range []string{
		`[]`, `[{"headers":{"a":"b"},"body":"c"}]`, `[{"body":1.5e3},{"headers":null}]`,
		`[{"headers":{"x":true,"y":null}}]`, `{"body":"x"}`, `[{"body":"\ud83d\ude00 \u00e9"}]`,
		`[{"headers":{"k":"a\"b\\c\/\n\u00e9\ud83d\ude00"},"body":"x\u0000y"}]`, `[{"body":"\ud800"}]`,
		`[{"body":"\udc00\ud800"}]`, `[{"headers":{"a":"1","a":"2"}}]`, `[{"body":null,"headers":null}]`,
		`[{"body":"a","body":"b"}]`, `[{"x":1,"body":"a"}]`, "[ {\"body\":\"\xff\"} ]", `[{}, {"headers":{}}]`,
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, cs uint8) {
		c := charset(cs % 3)
		// The fast decoder must agree with the thorough one on whatever
		// it accepts.
		txt := decodeText(c, body)
		if fast, ok := fastJSONArray(c, txt); ok && len(bytes.TrimSpace(txt)) > 0 {
			slow, err := slowJSONArray(c, txt, "byte offset")
			if err != nil {
				t.Fatalf("fast decoder accepted %q, the thorough one refused it: %v", txt, err)
			}
			sameEvents(t, fast, slow)
		}
		events, err := decodeJSONArray(c, body)
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) || re.status != http.StatusBadRequest || re.msg == "" {
				t.Fatalf("refusal %#v is not a 400 with a message", err)
			}
			return
		}
		if c != utf8cs {
			return // bodies are in another charset; the round trip below is UTF-8
		}
		type out struct {
			Headers map[string]string `json:"headers"`
			Body    string            `json:"body"`
		}
		again := make([]out, len(events))
		for i, e := range events {
			again[i] = out{e.Headers, string(e.Body)}
		}
		b, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		events2, err := decodeJSONArray(utf8cs, b)
		if err != nil {
			t.Fatalf("re-encoded %s refused: %v", b, err)
		}
		sameEvents(t, events2, events)
	})
}

func sameEvents(t *testing.T, got, want []*sluice.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Body, want[i].Body) || !maps.Equal(got[i].Headers, want[i].Headers) {
			t.Fatalf("event %d: %v %q, want %v %q", i, got[i].Headers, got[i].Body, want[i].Headers, want[i].Body)
		}
	}
}
