package serializer

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

func ev(body string, kv ...string) *sluice.Event {
	e := sluice.NewEvent([]byte(body))
	for i := 0; i+1 < len(kv); i += 2 {
		e.SetHeader(kv[i], kv[i+1])
	}
	return e
}

// run builds the named serializer over a buffer, drives it through a whole
// file's life and returns the bytes written.
func run(t *testing.T, name string, props map[string]string, events ...*sluice.Event) string {
	t.Helper()
	b, err := New(sluicetest.Env("k1"), "sink.serializer", name, props)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	s, err := b(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AfterCreate(); err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if err := s.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.BeforeClose(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestSerializersByteExact(t *testing.T) {
	hdr := []string{"header1", "value1", "header2", "value2"}
	bin := string([]byte{0, 0xff, '\n', 0x80})
	tests := []struct {
		name   string
		typ    string
		props  map[string]string
		events []*sluice.Event
		want   string
	}{
		{"text", "text", nil,
			[]*sluice.Event{ev("event 1", hdr...), ev("event 2"), ev("")},
			"event 1\nevent 2\n\n"},
		{"text upper-case alias", "TEXT", nil, []*sluice.Event{ev("a")}, "a\n"},
		{"text fqcn", "org.apache.flume.serialization.BodyTextEventSerializer$Builder", nil,
			[]*sluice.Event{ev("a")}, "a\n"},
		{"text no newline", "text", map[string]string{"appendNewline": "false"},
			[]*sluice.Event{ev("a"), ev("b")}, "ab"},
		{"text binary body", "text", nil, []*sluice.Event{ev(bin)}, bin + "\n"},
		// Flume's own test expects this order for these two headers.
		{"header_and_text", "header_and_text", nil,
			[]*sluice.Event{ev("event 1", hdr...), ev("event 2", hdr...)},
			"{header2=value2, header1=value1} event 1\n{header2=value2, header1=value1} event 2\n"},
		{"header_and_text no headers", "HEADER_AND_TEXT", nil,
			[]*sluice.Event{ev("x"), {Body: []byte("nil map")}}, "{} x\n{} nil map\n"},
		{"header_and_text no newline", "header_and_text", map[string]string{"appendNewline": "false"},
			[]*sluice.Event{ev("1", "k", "v"), ev("2", "k", "v")}, "{k=v} 1{k=v} 2"},
		{"header_and_text fqcn", "org.apache.flume.serialization.HeaderAndBodyTextEventSerializer$Builder", nil,
			[]*sluice.Event{ev("b", "timestamp", "1700000000000", "host", "web-1", "topic", "logs")},
			"{host=web-1, topic=logs, timestamp=1700000000000} b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := run(t, tt.typ, tt.props, tt.events...); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// The expected strings were printed by java.util.HashMap.toString (JDK 17)
// after putting the entries in the order given.
func TestFormatHeadersMatchesJavaHashMap(t *testing.T) {
	many := map[string]string{}
	for i := 0; i < 30; i++ {
		many[fmt.Sprintf("key%d", i)] = fmt.Sprintf("v%d", i)
	}
	thirteen := map[string]string{}
	for i := 0; i < 13; i++ {
		thirteen[fmt.Sprintf("h%d", i)] = fmt.Sprint(i)
	}
	tests := []struct {
		h    map[string]string
		want string
	}{
		{nil, "{}"},
		{map[string]string{"header1": "value1", "header2": "value2"}, "{header2=value2, header1=value1}"},
		{map[string]string{"timestamp": "1700000000000", "host": "web-1", "topic": "logs"},
			"{host=web-1, topic=logs, timestamp=1700000000000}"},
		// "Aa", "BB", "aa" and "bb" share bucket 0 ("Aa" and "BB" even share
		// a hash); Java keeps insertion order there, which was key order.
		{map[string]string{"Aa": "aa!", "BB": "bb!", "a": "a!", "aa": "aa!", "b": "b!", "bb": "bb!", "c": "c!"},
			"{Aa=aa!, BB=bb!, aa=aa!, bb=bb!, a=a!, b=b!, c=c!}"},
		{map[string]string{"k\u00e9y": "v", "\U0001F600": "smile"}, "{\U0001F600=smile, k\u00e9y=v}"},
		// 13 entries: the table has grown to 32 buckets.
		{thirteen, "{h10=10, h0=0, h12=12, h1=1, h11=11, h2=2, h3=3, h4=4, h5=5, h6=6, h7=7, h8=8, h9=9}"},
		{many, "{key1=v1, key2=v2, key0=v0, key5=v5, key6=v6, key3=v3, key4=v4, key9=v9, key7=v7, key8=v8, " +
			"key22=v22, key21=v21, key20=v20, key15=v15, key14=v14, key13=v13, key12=v12, key19=v19, " +
			"key18=v18, key17=v17, key16=v16, key11=v11, key10=v10, key26=v26, key25=v25, key24=v24, " +
			"key23=v23, key29=v29, key28=v28, key27=v27}"},
	}
	for _, tt := range tests {
		if got := FormatHeaders(tt.h); got != tt.want {
			t.Errorf("FormatHeaders(%v)\n got %s\nwant %s", tt.h, got, tt.want)
		}
	}
}

func TestJavaStringHash(t *testing.T) {
	for s, want := range map[string]int32{"": 0, "hello": 99162322, "\U0001F600": 1772899, "Aa": 2112, "BB": 2112} {
		if got := int32(javaStringHash(s)); got != want {
			t.Errorf("hash(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestCheck(t *testing.T) {
	if err := Check("sink.serializer", "Text", map[string]string{"appendNewline": "false"}); err != nil {
		t.Errorf("valid config: %v", err)
	}
	err := Check("sink.serializer", "txet", nil)
	var pe *conf.PropError
	if !errors.As(err, &pe) || pe.Key != "sink.serializer" || !strings.Contains(pe.Msg, `"txet"`) ||
		!strings.Contains(pe.Msg, `did you mean "text"`) {
		t.Errorf("unknown type: got %v", err)
	}
	err = Check("serializer", "text", map[string]string{"appendNewline": "maybe"})
	if !errors.As(err, &pe) || pe.Key != "serializer.appendNewline" || !strings.Contains(pe.Msg, `"maybe"`) {
		t.Errorf("bad value: got %v", err)
	}
	// Unknown option keys are warnings, as for any component.
	if err := Check("sink.serializer", "text", map[string]string{"appendNewLine": "false"}); err != nil {
		t.Errorf("unknown key must not fail: %v", err)
	}
}

func TestNewWarnsOnUnknownOption(t *testing.T) {
	var logs bytes.Buffer
	env := sluicetest.Env("k1")
	env.Logger = newTextLogger(&logs)
	if _, err := New(env, "sink.serializer", "text", map[string]string{"appendNewLine": "false"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "appendNewLine") || !strings.Contains(logs.String(), "appendNewline") {
		t.Errorf("want a did-you-mean warning, got %q", logs.String())
	}
}

// errWriter fails every write, as a full disk would.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrorsReachTheCaller(t *testing.T) {
	for _, name := range []string{"text", "header_and_text"} {
		b, err := New(sluicetest.Env("k1"), "sink.serializer", name, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := b(errWriter{})
		if err := s.Write(ev("x")); err == nil {
			t.Errorf("%s: write error was swallowed", name)
		}
	}
}

func TestTextSerializersSupportReopen(t *testing.T) {
	for _, name := range []string{"text", "header_and_text"} {
		b, _ := New(sluicetest.Env("k1"), "sink.serializer", name, nil)
		s, _ := b(&bytes.Buffer{})
		if _, ok := s.(Reopener); !ok {
			t.Errorf("%s does not implement Reopener", name)
		}
	}
}
