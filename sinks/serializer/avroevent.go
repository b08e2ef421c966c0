package serializer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

// EventSchema is the schema of the avro_event serializer's records, spelled
// exactly as Flume's FlumeEventAvroEventSerializer puts it in the container
// header (Avro Java's Schema.toString of its schema): readers that compare
// or hash the header text see the same bytes.
const EventSchema = `{"type":"record","name":"Event","fields":[{"name":"headers","type":{"type":"map","values":"string"}},{"name":"body","type":"bytes"}]}`

// AvroEventConfig is the configuration of the avro_event serializer.
type AvroEventConfig struct {
	SyncIntervalBytes int    `flume:"syncIntervalBytes" doc:"uncompressed size at which a block is written out (Avro's sync interval)"`
	CompressionCodec  string `flume:"compressionCodec" doc:"block compression: null, deflate, snappy or zstandard"`
}

// Validate checks the sync interval (Avro's own bounds) and the codec.
func (c *AvroEventConfig) Validate() error {
	var errs []error
	if c.SyncIntervalBytes < 32 || c.SyncIntervalBytes > 1<<30 {
		errs = append(errs, conf.Invalid("syncIntervalBytes", "\"%d\" must be between 32 and 1073741824", c.SyncIntervalBytes))
	}
	if _, err := avroCodec(c.CompressionCodec); err != nil {
		errs = append(errs, conf.Invalid("compressionCodec", "%v", err))
	}
	return errors.Join(errs...)
}

// avroCodec maps Flume's codec names (Avro's CodecFactory names) onto the
// ones hamba/avro writes.
func avroCodec(name string) (ocf.CodecName, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "null":
		return ocf.Null, nil
	case "deflate":
		return ocf.Deflate, nil
	case "snappy":
		return ocf.Snappy, nil
	case "zstandard":
		return ocf.ZStandard, nil
	case "bzip2", "xz":
		return "", fmt.Errorf("%q is an Avro codec Sluice cannot write (use null, deflate, snappy or zstandard)", name)
	}
	return "", fmt.Errorf("%q is not an Avro codec (use null, deflate, snappy or zstandard)", name)
}

var eventSchema = avro.MustParse(EventSchema)

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSerializer,
		Name:      "avro_event",
		Aliases:   []string{"org.apache.flume.serialization.FlumeEventAvroEventSerializer$Builder"},
		Stability: sluice.Beta,
		Doc: "Writes an Avro object container file of records `Event {headers: map<string>, body: bytes}`, " +
			"the format of Flume's `avro_event` serializer. A block is written when the buffered records reach " +
			"`syncIntervalBytes`, and at every flush (each committed sink batch).",
		Notes: strings.TrimSpace(`
- The container header carries the same schema text as Flume's (` + "`" + `{"type":"record","name":"Event",...}` + "`" + `, no
  namespace), so readers that compare or fingerprint it see no difference. The sync marker is random per file,
  as in Avro Java.
- Header maps are written in the order Java's HashMap would iterate them, so a record's bytes equal Flume's.
- Codecs: ` + "`null`, `deflate` (level 6), `snappy` and `zstandard`" + `. Flume also knows ` + "`bzip2` and `xz`" + `;
  Sluice refuses them, and any unknown name, at configuration time, where Flume logs a warning and writes
  uncompressed.
- Like Flume's, this serializer cannot reopen an existing file for append.`),
		Example: "a1.sinks.k1.type = file_roll\n" +
			"a1.sinks.k1.sink.directory = /var/log/sluice\n" +
			"a1.sinks.k1.sink.serializer = avro_event\n" +
			"a1.sinks.k1.sink.serializer.compressionCodec = snappy\n",
		Config: func() any { return &AvroEventConfig{SyncIntervalBytes: 2048000, CompressionCodec: "null"} },
		New: func(_ sluice.Env, cfg any) (any, error) {
			c := cfg.(*AvroEventConfig)
			if err := c.Validate(); err != nil {
				return nil, err
			}
			codec, _ := avroCodec(c.CompressionCodec)
			sync := c.SyncIntervalBytes
			return Builder(func(w io.Writer) (Serializer, error) {
				return &avroEvent{w: w, codec: codec, sync: sync}, nil
			}), nil
		},
	})
}

// avroEvent writes Flume events as Avro records into a container file. The
// record bytes are built by hand (a map and a bytes field need no
// reflection) and handed to the container encoder, which blocks and
// compresses them.
type avroEvent struct {
	w     io.Writer
	codec ocf.CodecName
	sync  int
	enc   *ocf.Encoder
	buf   []byte
	keys  []javaEntry
}

func (s *avroEvent) AfterCreate() error {
	enc, err := ocf.NewEncoderWithSchema(eventSchema, s.w,
		ocf.WithCodec(s.codec),
		ocf.WithBlockLength(0), // blocks end by size, as Avro Java's sync interval does
		ocf.WithBlockSize(s.sync),
		ocf.WithSchemaMarshaler(func(avro.Schema) ([]byte, error) { return []byte(EventSchema), nil }),
	)
	if err != nil {
		return fmt.Errorf("avro_event: write container header: %w", err)
	}
	s.enc = enc
	return nil
}

func (s *avroEvent) Write(e *sluice.Event) error {
	if s.enc == nil {
		return errors.New("avro_event: Write before AfterCreate")
	}
	b := appendEventRecord(s.buf[:0], e, &s.keys)
	if cap(b) <= 64<<10 {
		s.buf = b
	}
	_, err := s.enc.Write(b)
	return err
}

// Flush writes the pending block, as Flume's flush does (one block per
// committed batch at least).
func (s *avroEvent) Flush() error {
	if s.enc == nil {
		return nil
	}
	return s.enc.Flush()
}

// BeforeClose writes what is still buffered and releases the codec.
func (s *avroEvent) BeforeClose() error {
	if s.enc == nil {
		return nil
	}
	err := s.enc.Close()
	s.enc = nil
	return err
}

// appendEventRecord appends the Avro binary encoding of one Event record:
// the headers map (one block, then the zero end marker) and the body.
func appendEventRecord(dst []byte, e *sluice.Event, scratch *[]javaEntry) []byte {
	if n := len(e.Headers); n > 0 {
		dst = appendLong(dst, int64(n))
		for _, je := range javaOrder(e.Headers, scratch) {
			dst = appendString(dst, je.key)
			dst = appendString(dst, e.Headers[je.key])
		}
	}
	dst = appendLong(dst, 0)
	dst = appendLong(dst, int64(len(e.Body)))
	return append(dst, e.Body...)
}

// javaOrder lists h's keys in java.util.HashMap iteration order (see
// HeaderFormatter), in scratch's storage.
func javaOrder(h map[string]string, scratch *[]javaEntry) []javaEntry {
	n := uint32(16)
	for uint64(len(h)) > uint64(n)*3/4 {
		n *= 2
	}
	es := (*scratch)[:0]
	for k := range h {
		es = append(es, javaEntry{bucket: javaSpread(javaStringHash(k)) & (n - 1), key: k})
	}
	if len(es) > 1 {
		sort.Slice(es, func(i, j int) bool {
			if es[i].bucket != es[j].bucket {
				return es[i].bucket < es[j].bucket
			}
			return es[i].key < es[j].key
		})
	}
	*scratch = es
	return es
}

func appendLong(dst []byte, v int64) []byte {
	return binary.AppendUvarint(dst, uint64((v<<1)^(v>>63)))
}

func appendString(dst []byte, s string) []byte {
	dst = appendLong(dst, int64(len(s)))
	return append(dst, s...)
}
