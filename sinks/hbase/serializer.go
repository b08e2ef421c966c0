package hbase

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"regexp"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/sluiceio/sluice"
)

// rowKeyName marks the row key's place in colNames (regex serializer).
const rowKeyName = "ROW_KEY"

// maxRowKey is HBase's limit on a row key's length (Short.MAX_VALUE).
const maxRowKey = 32767

// put is one row's cells, all in the sink's column family.
type put struct {
	event int // index in the batch
	row   []byte
	cells map[string][]byte // qualifier -> value
}

// increment adds by to row:qualifier.
type increment struct {
	event int
	row   []byte
	qual  string
	by    int64
}

// serializer turns an event into the mutations Flume's serializer of the
// same name makes. An error rejects the event (it can never be written).
type serializer interface {
	serialize(i int, e *sluice.Event, puts []put, incs []increment) ([]put, []increment, error)
}

func newSerializer(c *Config) (serializer, error) {
	if c.serializerKind() == "regex" {
		re, err := compileRegex(c.Regex, c.RegexIgnoreCase)
		if err != nil {
			return nil, err
		}
		return &regexSerializer{re: re, cols: c.colNames(), rowKeyIndex: c.RowKeyIndex,
			depositHeaders: c.DepositHeaders, now: time.Now}, nil
	}
	s := &simpleSerializer{prefix: c.RowPrefix, payloadCol: c.PayloadColumn,
		incCol: c.IncrementColumn, incRow: []byte(c.IncrementRow), now: time.Now}
	switch c.Suffix {
	case "timestamp":
		s.suffix = s.timestampSuffix
	case "random":
		s.suffix = randomSuffix
	case "nano":
		s.suffix = nanoSuffix
	default:
		s.suffix = uuidSuffix
	}
	return s, nil
}

// simpleSerializer is Flume's SimpleHbaseEventSerializer (and its hbase2
// and asynchbase twins): row rowPrefix+suffix, the body in payloadColumn,
// and incrementRow:incrementColumn + 1.
type simpleSerializer struct {
	prefix     string
	payloadCol string
	incCol     string
	incRow     []byte
	suffix     func([]byte) []byte
	now        func() time.Time
}

func (s *simpleSerializer) serialize(i int, e *sluice.Event, puts []put, incs []increment) ([]put, []increment, error) {
	if s.payloadCol != "" {
		row := s.suffix(append(make([]byte, 0, len(s.prefix)+36), s.prefix...))
		if len(row) > maxRowKey {
			return puts, incs, fmt.Errorf("row key of %d bytes is longer than HBase allows (%d): shorten serializer.rowPrefix", len(row), maxRowKey)
		}
		puts = append(puts, put{event: i, row: row, cells: map[string][]byte{s.payloadCol: e.Body}})
	}
	if s.incCol != "" {
		incs = append(incs, increment{event: i, row: s.incRow, qual: s.incCol, by: 1})
	}
	return puts, incs, nil
}

// timestampSuffix is System.currentTimeMillis().
func (s *simpleSerializer) timestampSuffix(b []byte) []byte {
	return strconv.AppendInt(b, s.now().UnixMilli(), 10)
}

// randomSuffix is new Random().nextLong(): any signed 64-bit number.
func randomSuffix(b []byte) []byte {
	return strconv.AppendInt(b, int64(mrand.Uint64()), 10)
}

// nanoSuffix is System.nanoTime(): the monotonic clock in nanoseconds.
func nanoSuffix(b []byte) []byte {
	return strconv.AppendInt(b, nanoTime(), 10)
}

// uuidSuffix is UUID.randomUUID().toString(): version 4, lower-case hex.
func uuidSuffix(b []byte) []byte {
	var u [16]byte
	rand.Read(u[:]) // never fails since Go 1.24 (it aborts instead)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var h [36]byte
	hex.Encode(h[0:8], u[0:4])
	h[8] = '-'
	hex.Encode(h[9:13], u[4:6])
	h[13] = '-'
	hex.Encode(h[14:18], u[6:8])
	h[18] = '-'
	hex.Encode(h[19:23], u[8:10])
	h[23] = '-'
	hex.Encode(h[24:], u[10:])
	return append(b, h[:]...)
}

// regexSerializer is Flume's RegexHbaseEventSerializer /
// RegexHBase2EventSerializer.
type regexSerializer struct {
	re             *regexp.Regexp
	cols           []string
	rowKeyIndex    int
	depositHeaders bool
	now            func() time.Time
	onSkip         func(i int, why string) // told of bodies not written
}

// Flume keeps these per JVM (static): the 10 random letters and digits and
// the counter of generated row keys.
var (
	processKey = randomAlphanumeric(10)
	nonce      atomic.Int32
)

func randomAlphanumeric(n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
		b[i] = chars[k.Int64()]
	}
	return string(b)
}

// errGroupUnset is a group that took no part in the match; Java gives null
// there and Flume's serializer fails.
var errGroupUnset = errors.New("regex group took no part in the match")

func (s *regexSerializer) serialize(i int, e *sluice.Event, puts []put, incs []increment) ([]put, []increment, error) {
	body := javaDecode(e.Body)
	m := s.re.FindSubmatchIndex(body)
	if m == nil {
		s.skip(i, "the body does not match serializer.regex")
		return puts, incs, nil
	}
	groups := len(m)/2 - 1
	if groups != len(s.cols) {
		s.skip(i, fmt.Sprintf("serializer.regex has %d groups but serializer.colNames names %d columns", groups, len(s.cols)))
		return puts, incs, nil
	}
	group := func(g int) ([]byte, error) {
		a, b := m[2*(g+1)], m[2*(g+1)+1]
		if a < 0 {
			return nil, fmt.Errorf("column %q: %w", s.cols[g], errGroupUnset)
		}
		return body[a:b], nil
	}
	var row []byte
	if s.rowKeyIndex < 0 {
		// <millis>-<random key>-<nonce>, nonce an int that wraps as Java's.
		row = strconv.AppendInt(nil, s.now().UnixMilli(), 10)
		row = append(append(append(row, '-'), processKey...), '-')
		row = strconv.AppendInt(row, int64(nonce.Add(1)-1), 10)
	} else {
		g, err := group(s.rowKeyIndex)
		if err != nil {
			return puts, incs, err
		}
		row = g
	}
	if len(row) == 0 {
		return puts, incs, errors.New("the row key (regex group at serializer.rowKeyIndex) is empty; HBase refuses empty row keys")
	}
	if len(row) > maxRowKey {
		return puts, incs, fmt.Errorf("row key of %d bytes is longer than HBase allows (%d)", len(row), maxRowKey)
	}
	cells := make(map[string][]byte, len(s.cols)+len(e.Headers))
	for g, col := range s.cols {
		if g == s.rowKeyIndex {
			continue
		}
		v, err := group(g)
		if err != nil {
			return puts, incs, err
		}
		cells[col] = v
	}
	if s.depositHeaders {
		for k, v := range e.Headers {
			cells[k] = []byte(v)
		}
	}
	return append(puts, put{event: i, row: row, cells: cells}), incs, nil
}

func (s *regexSerializer) skip(i int, why string) {
	if s.onSkip != nil {
		s.onSkip(i, why)
	}
}

// javaDecode is new String(body, UTF_8) back to bytes: malformed input
// becomes U+FFFD, so groups hold what Flume writes.
func javaDecode(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		out = utf8.AppendRune(out, r) // RuneError for a bad byte
		b = b[n:]
	}
	return out
}
