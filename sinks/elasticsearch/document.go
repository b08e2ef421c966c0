package elasticsearch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluiceio/sluice"
)

// timestampFormat is how Flume's serializer wrote @timestamp (the ISO
// format of Elasticsearch's XContentBuilder for a java.util.Date, UTC).
const timestampFormat = "2006-01-02T15:04:05.000Z07:00"

// eventTime is the time Flume's TimestampedEvent gave an event: the
// timestamp header, else @timestamp, else now (and then, as in Flume, the
// document gets a timestamp header with that time).
func eventTime(e *sluice.Event, now time.Time) (t time.Time, added bool, err error) {
	name := "timestamp"
	v := strings.TrimSpace(e.Headers[name])
	if v == "" {
		name = "@timestamp"
		v = strings.TrimSpace(e.Headers[name])
	}
	if v == "" {
		return now, true, nil
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("header %s = %q is not a time in milliseconds since 1970", name, v)
	}
	return time.UnixMilli(ms), false, nil
}

// indexName is the event's index: the prefix with %{header} replaced, plus
// -yyyy-MM-dd (UTC) when daily.
func indexName(prefix string, daily bool, e *sluice.Event, t time.Time) string {
	name := prefix
	if strings.Contains(name, "%{") {
		var b strings.Builder
		for {
			i := strings.Index(name, "%{")
			if i < 0 {
				break
			}
			j := strings.IndexByte(name[i:], '}')
			if j < 0 {
				break
			}
			b.WriteString(name[:i])
			b.WriteString(e.Headers[name[i+2:i+j]])
			name = name[i+j+1:]
		}
		b.WriteString(name)
		name = b.String()
	}
	if daily {
		name += "-" + t.UTC().Format("2006-01-02")
	}
	return name
}

// appendValue writes a body or header value as Flume's ContentBuilderUtil
// did: a JSON object embedded as is, anything else a string.
func appendValue(b *bytes.Buffer, v []byte) {
	if t := bytes.TrimLeft(v, " \t\r\n"); len(t) > 0 && t[0] == '{' && json.Valid(v) {
		if err := json.Compact(b, v); err == nil {
			return
		}
	}
	appendString(b, v)
}

// appendString writes v as a JSON string; bytes that are not UTF-8 become
// U+FFFD, as Java's String decoding makes them.
func appendString(b *bytes.Buffer, v []byte) {
	plain := true
	for _, c := range v {
		// Printable ASCII (and DEL) needs no escaping; the rest goes
		// through encoding/json (control characters, quotes, HTML, UTF-8).
		if c < 0x20 || c > 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			plain = false
			break
		}
	}
	if plain {
		b.WriteByte('"')
		b.Write(v)
		b.WriteByte('"')
		return
	}
	if !utf8.Valid(v) {
		v = bytes.ToValidUTF8(v, []byte("\uFFFD"))
	}
	s, _ := json.Marshal(string(v)) // a valid string always marshals
	b.Write(s)
}

func appendField(b *bytes.Buffer, first *bool, name string, v []byte) {
	if !*first {
		b.WriteByte(',')
	}
	*first = false
	appendString(b, []byte(name))
	b.WriteByte(':')
	appendValue(b, v)
}

// sortedKeys makes documents reproducible (Flume's order was a HashMap's).
func sortedKeys(h map[string]string) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// appendDocument writes the event's document in the serializer's layout.
// t and added are eventTime's answer.
func appendDocument(b *bytes.Buffer, kind string, e *sluice.Event, t time.Time, added bool) {
	h := e.Headers
	if added {
		// Flume's TimestampedEvent put the time it chose into the headers.
		h = make(map[string]string, len(e.Headers)+1)
		for k, v := range e.Headers {
			h[k] = v
		}
		h["timestamp"] = strconv.FormatInt(t.UnixMilli(), 10)
	}
	first := true
	b.WriteByte('{')
	if kind == "dynamic" {
		appendField(b, &first, "body", e.Body)
		for _, k := range sortedKeys(h) {
			appendField(b, &first, k, []byte(h[k]))
		}
		b.WriteByte('}')
		return
	}
	appendField(b, &first, "@message", e.Body)
	if strings.TrimSpace(h["timestamp"]) != "" && strings.TrimSpace(h["@timestamp"]) == "" {
		b.WriteString(`,"@timestamp":"`)
		b.WriteString(t.UTC().Format(timestampFormat))
		b.WriteByte('"')
	}
	for _, m := range [...]struct{ header, field string }{
		{"source", "@source"}, {"type", "@type"}, {"host", "@source_host"}, {"src_path", "@source_path"},
	} {
		if v := h[m.header]; strings.TrimSpace(v) != "" && strings.TrimSpace(h[m.field]) == "" {
			appendField(b, &first, m.field, []byte(v))
		}
	}
	b.WriteString(`,"@fields":{`)
	inner := true
	for _, k := range sortedKeys(h) {
		appendField(b, &inner, k, []byte(h[k]))
	}
	b.WriteString("}}")
}
