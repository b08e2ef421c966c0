package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sluiceio/sluice"
)

// requestError is a handler's refusal of a request: the status it is
// answered with and a message for the client.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// failure is what Flume answers 500: a handler error that is not the
// body's syntax.
func failure(format string, args ...any) error {
	return &requestError{status: http.StatusInternalServerError, msg: fmt.Sprintf(format, args...)}
}

// charset is a request charset the JSON handlers accept (Flume's list).
type charset int

const (
	utf8cs charset = iota
	utf16cs
	utf32cs
)

// requestCharset reads the charset parameter of Content-Type; none means
// UTF-8, as in Flume.
func requestCharset(r *http.Request) (charset, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return utf8cs, nil
	}
	_, params, err := mime.ParseMediaType(ct)
	if err != nil {
		// An unreadable Content-Type carries no charset we can see.
		return utf8cs, nil
	}
	name, ok := params["charset"]
	if !ok {
		return utf8cs, nil
	}
	switch strings.ToLower(name) {
	case "utf-8":
		return utf8cs, nil
	case "utf-16":
		return utf16cs, nil
	case "utf-32":
		return utf32cs, nil
	}
	return 0, failure("unsupported charset %q: the JSON handler reads UTF-8, UTF-16 and UTF-32 only", name)
}

// decodeText turns the body into UTF-8 text as Java's decoders do: UTF-16
// and UTF-32 are big-endian unless a byte order mark says otherwise, and
// what cannot be decoded becomes U+FFFD.
func decodeText(cs charset, b []byte) []byte {
	switch cs {
	case utf16cs:
		le := false
		if len(b) >= 2 && (b[0] == 0xFE && b[1] == 0xFF || b[0] == 0xFF && b[1] == 0xFE) {
			le = b[0] == 0xFF
			b = b[2:]
		}
		units := make([]uint16, 0, len(b)/2)
		for i := 0; i+1 < len(b); i += 2 {
			if le {
				units = append(units, uint16(b[i])|uint16(b[i+1])<<8)
			} else {
				units = append(units, uint16(b[i])<<8|uint16(b[i+1]))
			}
		}
		out := make([]byte, 0, len(b))
		for _, r := range utf16.Decode(units) {
			out = utf8.AppendRune(out, r)
		}
		if len(b)%2 == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		}
		return out
	case utf32cs:
		le := false
		if len(b) >= 4 && (bytes.Equal(b[:4], []byte{0, 0, 0xFE, 0xFF}) || bytes.Equal(b[:4], []byte{0xFF, 0xFE, 0, 0})) {
			le = b[0] == 0xFF
			b = b[4:]
		}
		out := make([]byte, 0, len(b))
		for i := 0; i+3 < len(b); i += 4 {
			var r uint32
			if le {
				r = uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16 | uint32(b[i+3])<<24
			} else {
				r = uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
			}
			if r > utf8.MaxRune || (r >= 0xD800 && r <= 0xDFFF) {
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, rune(r))
		}
		if len(b)%4 != 0 {
			out = utf8.AppendRune(out, utf8.RuneError)
		}
		return out
	}
	return bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
}

// encodeBody makes an event body from its JSON string in the request's
// charset, as Java's String.getBytes does (UTF-16 with a big-endian byte
// order mark, UTF-32 big-endian; nothing at all for an empty string).
func encodeBody(cs charset, s string) []byte {
	if s == "" {
		return []byte{}
	}
	switch cs {
	case utf16cs:
		units := utf16.Encode([]rune(s))
		out := make([]byte, 2, 2+2*len(units))
		out[0], out[1] = 0xFE, 0xFF
		for _, u := range units {
			out = append(out, byte(u>>8), byte(u))
		}
		return out
	case utf32cs:
		out := make([]byte, 0, 4*len(s))
		for _, r := range s {
			out = append(out, byte(r>>24), byte(r>>16), byte(r>>8), byte(r))
		}
		return out
	}
	return []byte(s)
}

// text is a JSON value read as Gson reads a String: strings as they are,
// numbers as their literal text, booleans as true/false, null as absent.
type text struct {
	s    string
	null bool
}

func (t *text) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0:
		return errors.New("empty value")
	case b[0] == '"':
		return json.Unmarshal(b, &t.s)
	case string(b) == "null":
		t.null = true
	case string(b) == "true" || string(b) == "false" || b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		t.s = string(b)
	default:
		kind := "an object"
		if b[0] == '[' {
			kind = "an array"
		}
		return fmt.Errorf("expected a string, found %s", kind)
	}
	return nil
}

// jsonEvent is one element of the JSON handler's array.
type jsonEvent struct {
	Headers map[string]text `json:"headers"`
	Body    text            `json:"body"`
}

func (j *jsonEvent) event(cs charset) *sluice.Event {
	e := &sluice.Event{Body: encodeBody(cs, j.Body.s)}
	if len(j.Headers) > 0 {
		e.Headers = make(map[string]string, len(j.Headers))
		for k, v := range j.Headers {
			if !v.null {
				e.Headers[k] = v.s
			}
		}
	}
	return e
}

// fieldError is the error of one event's field, with the field's name.
type fieldError struct {
	field string
	err   error
}

// UnmarshalJSON decodes an event and names the field that was wrong.
func (j *jsonEvent) UnmarshalJSON(b []byte) error {
	var raw struct {
		Headers json.RawMessage `json:"headers"`
		Body    json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			return fmt.Errorf("expected an object {\"headers\":{...},\"body\":\"...\"}, found %s", article(te.Value))
		}
		return err
	}
	*j = jsonEvent{}
	if len(raw.Headers) > 0 && string(raw.Headers) != "null" {
		if raw.Headers[0] != '{' {
			return fmt.Errorf("headers: expected an object of strings, found %s", describeRaw(raw.Headers))
		}
		var values map[string]json.RawMessage
		if err := json.Unmarshal(raw.Headers, &values); err != nil {
			return fmt.Errorf("headers: %w", err)
		}
		j.Headers = make(map[string]text, len(values))
		for k, v := range values {
			var t text
			if err := t.UnmarshalJSON(v); err != nil {
				return fmt.Errorf("headers: %q: %w", k, err)
			}
			j.Headers[k] = t
		}
	}
	if len(raw.Body) > 0 {
		if err := j.Body.UnmarshalJSON(raw.Body); err != nil {
			return fmt.Errorf("body: %w", err)
		}
	}
	return nil
}

func describeRaw(b []byte) string {
	switch {
	case b[0] == '"':
		return "a string"
	case b[0] == '[':
		return "an array"
	case b[0] == 't' || b[0] == 'f':
		return "a boolean"
	}
	return "a number"
}

func article(v string) string {
	switch v {
	case "array", "object":
		return "an " + v
	case "":
		return "something else"
	}
	return "a " + v
}

// decodeJSONArray reads Flume's JSON handler format: one array of events.
// Errors say what is wrong and where: the byte offset (counted from 0) in
// the text and the index of the event.
func decodeJSONArray(cs charset, body []byte) ([]*sluice.Event, error) {
	txt := decodeText(cs, body)
	where := "byte offset"
	if cs != utf8cs {
		where = "byte offset (of the body decoded to UTF-8)"
	}
	if len(bytes.TrimSpace(txt)) == 0 {
		return nil, badRequest("the body is empty; expected a JSON array of events [{\"headers\":{...},\"body\":\"...\"}, ...]")
	}
	if events, ok := fastJSONArray(cs, txt); ok {
		return events, nil
	}
	return slowJSONArray(cs, txt, where)
}

// slowJSONArray reads the body with encoding/json: every coercion Gson
// makes, and errors that say what and where.
func slowJSONArray(cs charset, txt []byte, where string) ([]*sluice.Event, error) {
	dec := json.NewDecoder(bytes.NewReader(txt))
	tok, err := dec.Token()
	if err != nil {
		off, msg := syntaxAt(txt)
		return nil, badRequest("invalid JSON at %s %d: %s", where, off, msg)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, badRequest("expected a JSON array of events at %s %d, found %s", where, skipSpace(txt, 0), tokenKind(tok))
	}
	var events []*sluice.Event
	for i := 0; ; i++ {
		if !dec.More() {
			break
		}
		start := skipSpace(txt, dec.InputOffset())
		var je jsonEvent
		if err := dec.Decode(&je); err != nil {
			var se *json.SyntaxError
			switch {
			case errors.As(err, &se):
				off, msg := syntaxAt(txt)
				return nil, badRequest("invalid JSON in event %d (which starts at %s %d) at %s %d: %s", i, where, start, where, off, msg)
			case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
				return nil, badRequest("the body ends inside event %d (which starts at %s %d): the array is not closed", i, where, start)
			}
			return nil, badRequest("event %d (at %s %d): %v", i, where, start, err)
		}
		events = append(events, je.event(cs))
	}
	if _, err := dec.Token(); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, badRequest("the body ends before the array of %d event(s) is closed with ]", len(events))
		}
		off, msg := syntaxAt(txt)
		return nil, badRequest("invalid JSON after event %d at %s %d: %s", len(events)-1, where, off, msg)
	}
	if off := skipSpace(txt, dec.InputOffset()); off < int64(len(txt)) {
		return nil, badRequest("unexpected data after the array at %s %d", where, off)
	}
	return events, nil
}

// skipSpace returns the offset of the first byte at or after off that is
// not JSON white space or a comma between elements.
func skipSpace(txt []byte, off int64) int64 {
	for off < int64(len(txt)) && strings.IndexByte(" \t\r\n,", txt[off]) >= 0 {
		off++
	}
	return off
}

// syntaxAt finds the first syntax error of txt: the offset of the byte at
// fault (from 0) and the message. The streaming decoder's own offsets are
// not reliable across tokens, so the whole text is checked once more.
func syntaxAt(txt []byte) (int64, string) {
	var raw json.RawMessage
	err := json.Unmarshal(txt, &raw)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return max(se.Offset-1, 0), se.Error()
	}
	if err != nil {
		return int64(len(txt)), err.Error()
	}
	return int64(len(txt)), "invalid JSON"
}

// decodeNDJSON reads one JSON event per line (blank lines skipped).
func decodeNDJSON(cs charset, body []byte) ([]*sluice.Event, error) {
	txt := decodeText(cs, body)
	var events []*sluice.Event
	for n := 1; len(txt) > 0; n++ {
		line := txt
		if i := bytes.IndexByte(txt, '\n'); i >= 0 {
			line, txt = txt[:i], txt[i+1:]
		} else {
			txt = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' {
			return nil, badRequest("line %d: expected a JSON object {\"headers\":{...},\"body\":\"...\"}", n)
		}
		var je jsonEvent
		if err := json.Unmarshal(line, &je); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return nil, badRequest("line %d, column %d: invalid JSON: %s", n, max(se.Offset, 1), se.Error())
			}
			return nil, badRequest("line %d: %v", n, err)
		}
		events = append(events, je.event(cs))
	}
	if len(events) == 0 {
		return nil, badRequest("the body holds no events; expected one JSON object per line")
	}
	return events, nil
}

// blobEvent makes the whole body one event; the query parameters (first
// value of each) become headers, and with contentType the request's
// Content-Type too (the morphline BlobHandler does so).
func blobEvent(r *http.Request, body []byte, contentType bool, mandatory []string) ([]*sluice.Event, error) {
	e := &sluice.Event{Body: body, Headers: map[string]string{}}
	if ct := r.Header.Get("Content-Type"); contentType && ct != "" {
		e.Headers["Content-Type"] = ct
	}
	q, err := queryParams(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("invalid query string: %v", err)
	}
	for k, v := range q {
		e.Headers[k] = v
	}
	for _, m := range mandatory {
		if _, ok := q[m]; !ok {
			return nil, failure("missing the mandatory query parameter %q", m)
		}
	}
	return []*sluice.Event{e}, nil
}

// queryParams keeps the first value of each parameter, as the servlet's
// getParameter does.
func queryParams(raw string) (map[string]string, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(q))
	for k, v := range q {
		out[k] = v[0]
	}
	return out, nil
}

func tokenKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}
