package serializer

import (
	"io"

	"github.com/sluiceio/sluice"
)

// TextConfig is the configuration of the text and header_and_text serializers.
type TextConfig struct {
	AppendNewline bool `flume:"appendNewline" doc:"write a newline after each event"`
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSerializer,
		Name:      "text",
		Aliases:   []string{"org.apache.flume.serialization.BodyTextEventSerializer$Builder"},
		Stability: sluice.Stable,
		Doc:       "Writes each event's body as it is, followed by a newline unless appendNewline is false. Headers are not written.",
		Config:    func() any { return &TextConfig{AppendNewline: true} },
		New: func(_ sluice.Env, cfg any) (any, error) {
			nl := cfg.(*TextConfig).AppendNewline
			return Builder(func(w io.Writer) (Serializer, error) {
				return &bodyText{w: w, newline: nl}, nil
			}), nil
		},
		Example: "a1.sinks.k1.type = file_roll\n" +
			"a1.sinks.k1.sink.directory = /var/log/sluice\n" +
			"a1.sinks.k1.sink.serializer = text\n" +
			"a1.sinks.k1.sink.serializer.appendNewline = false\n",
	})
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSerializer,
		Name:      "header_and_text",
		Aliases:   []string{"org.apache.flume.serialization.HeaderAndBodyTextEventSerializer$Builder"},
		Stability: sluice.Stable,
		Doc: "Writes each event as its headers in Java Map form (`{k1=v1, k2=v2}`), a space, " +
			"the body, and a newline unless appendNewline is false.",
		Notes: "Flume writes the headers in the iteration order of the Java HashMap that holds them. " +
			"Sluice computes the same order (Java's String hash and HashMap bucket layout); " +
			"keys that share a bucket, where Java would keep insertion order, are written in key order. " +
			"Header text is written as UTF-8 (Flume uses the JVM's default charset).",
		Config: func() any { return &TextConfig{AppendNewline: true} },
		New: func(_ sluice.Env, cfg any) (any, error) {
			nl := cfg.(*TextConfig).AppendNewline
			return Builder(func(w io.Writer) (Serializer, error) {
				return &headerText{w: w, newline: nl}, nil
			}), nil
		},
		Example: "a1.sinks.k1.type = file_roll\n" +
			"a1.sinks.k1.sink.directory = /var/log/sluice\n" +
			"a1.sinks.k1.sink.serializer = header_and_text\n",
	})
}

var newline = []byte{'\n'}

// bodyText writes bodies; no header, no trailer, nothing buffered, so it
// supports reopening for append.
type bodyText struct {
	w       io.Writer
	newline bool
}

func (s *bodyText) AfterCreate() error { return nil }
func (s *bodyText) AfterReopen() error { return nil }
func (s *bodyText) Flush() error       { return nil }
func (s *bodyText) BeforeClose() error { return nil }

func (s *bodyText) Write(e *sluice.Event) error {
	if _, err := s.w.Write(e.Body); err != nil {
		return err
	}
	if s.newline {
		_, err := s.w.Write(newline)
		return err
	}
	return nil
}

// headerText writes "{headers} body"; it renders each line into a reused
// buffer so the underlying writer sees one Write per event.
type headerText struct {
	w       io.Writer
	newline bool
	f       HeaderFormatter
	buf     []byte
}

func (s *headerText) AfterCreate() error { return nil }
func (s *headerText) AfterReopen() error { return nil }
func (s *headerText) Flush() error       { return nil }
func (s *headerText) BeforeClose() error { return nil }

func (s *headerText) Write(e *sluice.Event) error {
	b := s.f.Append(s.buf[:0], e.Headers)
	b = append(b, ' ')
	b = append(b, e.Body...)
	if s.newline {
		b = append(b, '\n')
	}
	// Do not keep a huge buffer alive because of one huge event.
	if cap(b) <= 64<<10 {
		s.buf = b
	}
	_, err := s.w.Write(b)
	return err
}
