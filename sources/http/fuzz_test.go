package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"testing"
)

// FuzzJSONHandler feeds arbitrary bodies to the JSON handler: it must never
// panic, must refuse with a 400 and a message, and what it accepts must
// come out the same when written back as JSON and read again. The seed
// corpus is in testdata/fuzz/FuzzJSONHandler; a plain go test runs it.
func FuzzJSONHandler(f *testing.F) {
	for _, s := range []string{
		`[]`, `[{"headers":{"a":"b"},"body":"c"}]`, `[{"body":1.5e3},{"headers":null}]`,
		`[{"headers":{"x":true,"y":null}}]`, `{"body":"x"}`, `[{"body":"\ud83d\ude00 \u00e9"}]`,
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, cs uint8) {
		c := charset(cs % 3)
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
		if len(events2) != len(events) {
			t.Fatalf("%d events, then %d", len(events), len(events2))
		}
		for i := range events {
			if !bytes.Equal(events[i].Body, events2[i].Body) || !maps.Equal(events[i].Headers, events2[i].Headers) {
				t.Fatalf("event %d changed: %v %q, then %v %q", i, events[i].Headers, events[i].Body, events2[i].Headers, events2[i].Body)
			}
		}
	})
}
