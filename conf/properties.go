package conf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Entry is one key = value pair of a properties file. Line is the line the
// key starts on (a value continued with `\` spans several lines).
type Entry struct {
	Key   string
	Value string
	File  string
	Line  int
}

// Where renders "file:line".
func (e Entry) Where() string { return fmt.Sprintf("%s:%d", e.File, e.Line) }

// Properties is what one or more properties files hold, read the way Java's
// Properties.load reads them and Flume then cleans them (keys and values
// trimmed). Entries keep the order in which their keys first appeared; a key
// written again keeps its last value and the position of that last line.
// Empty values are kept here: Flume drops them only after substitution, so
// the loader decides.
type Properties struct {
	Entries []Entry
	// Problems found while reading: keys set twice in one file and invalid
	// UTF-8 (warnings), malformed \uXXXX escapes (errors).
	Problems []*Error
	index    map[string]int
}

// NewProperties returns an empty set.
func NewProperties() *Properties { return &Properties{index: map[string]int{}} }

// Get returns the entry for key.
func (p *Properties) Get(key string) (Entry, bool) {
	i, ok := p.index[key]
	if !ok {
		return Entry{}, false
	}
	return p.Entries[i], true
}

// Set adds or replaces key (the later write wins, as in Java).
func (p *Properties) Set(e Entry) {
	if p.index == nil {
		p.index = map[string]int{}
	}
	if i, ok := p.index[e.Key]; ok {
		p.Entries[i] = e
		return
	}
	p.index[e.Key] = len(p.Entries)
	p.Entries = append(p.Entries, e)
}

// Merge lays q over p: q's keys override p's, as a later -f file does.
// Overriding across files is the point of several files, so it is not
// reported.
func (p *Properties) Merge(q *Properties) {
	for _, e := range q.Entries {
		p.Set(e)
	}
	p.Problems = append(p.Problems, q.Problems...)
}

// ReadProperties reads and merges files in order. The error is only for
// files that cannot be read; syntax problems are in Problems.
func ReadProperties(files ...string) (*Properties, error) {
	if len(files) == 0 {
		return nil, errors.New("no configuration file given")
	}
	all := NewProperties()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("configuration file %q does not exist", f)
			}
			return nil, fmt.Errorf("reading configuration file %q: %w", f, err)
		}
		all.Merge(ParseProperties(data, f))
	}
	return all, nil
}

// ParseProperties reads one file's bytes. Java reads .properties files as
// ISO-8859-1; people write UTF-8, so valid UTF-8 is taken as UTF-8 and
// anything else falls back to ISO-8859-1, which is what Java would have
// read. A UTF-8 byte-order mark is skipped (Java would glue it to the first
// key).
func ParseProperties(data []byte, file string) *Properties {
	return parseProperties(data, file, true)
}

// ParseJavaProperties reads a file the way java.util.Properties alone does,
// without Flume's configuration rules: values keep escaped leading blanks
// and trailing blanks. Flume's clients (avro-client's -R header file) read
// their files this way.
func ParseJavaProperties(data []byte, file string) *Properties {
	return parseProperties(data, file, false)
}

func parseProperties(data []byte, file string, flume bool) *Properties {
	p := NewProperties()
	var text string
	if utf8.Valid(data) {
		text = strings.TrimPrefix(string(data), "\uFEFF")
	} else {
		p.Problems = append(p.Problems, &Error{File: file, Line: firstInvalidLine(data), Warning: true,
			Msg: "the file is not valid UTF-8 (from this line on); it is read as ISO-8859-1, as Java does"})
		runes := make([]rune, len(data))
		for i, b := range data {
			runes[i] = rune(b)
		}
		text = string(runes)
	}
	r := &lineReader{s: text, line: 1}
	for {
		logical, line, ok := r.next()
		if !ok {
			break
		}
		rawKey, rawValue := splitKeyValue(logical)
		key, kerr := unescape(rawKey)
		value, verr := unescape(rawValue)
		if flume {
			key, value = javaTrim(key), javaTrim(value)
		}
		if kerr != nil || verr != nil {
			err := kerr
			if err == nil {
				err = verr
			}
			p.Problems = append(p.Problems, &Error{Key: key, File: file, Line: line,
				Msg: fmt.Sprintf("%v; the line is ignored (Java would refuse the whole file)", err)})
			continue
		}
		if key == "" {
			// "= value" or a line of escaped blanks: Flume rejects an empty key.
			continue
		}
		if prev, ok := p.Get(key); ok && prev.File == file {
			p.Problems = append(p.Problems, &Error{Key: key, File: file, Line: line, Warning: true,
				Msg: fmt.Sprintf("set twice, at %s and %s:%d; the later value wins", prev.Where(), file, line)})
		}
		p.Set(Entry{Key: key, Value: value, File: file, Line: line})
	}
	return p
}

func firstInvalidLine(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		i += n
	}
	return line
}

// lineReader yields Java's logical lines: comments and blank lines skipped,
// leading blanks dropped, `\`-continued lines joined (the continuation's
// leading blanks dropped too).
type lineReader struct {
	s    string
	pos  int
	line int
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

// eol consumes a line terminator (\n, \r or \r\n) at pos, if any.
func (r *lineReader) eol() bool {
	if r.pos >= len(r.s) {
		return false
	}
	switch r.s[r.pos] {
	case '\n':
		r.pos++
	case '\r':
		r.pos++
		if r.pos < len(r.s) && r.s[r.pos] == '\n' {
			r.pos++
		}
	default:
		return false
	}
	r.line++
	return true
}

func (r *lineReader) skipBlanks() {
	for r.pos < len(r.s) && isBlank(r.s[r.pos]) {
		r.pos++
	}
}

// rest returns the rest of the natural line, without its terminator.
func (r *lineReader) rest() string {
	start := r.pos
	for r.pos < len(r.s) && r.s[r.pos] != '\n' && r.s[r.pos] != '\r' {
		r.pos++
	}
	return r.s[start:r.pos]
}

func (r *lineReader) next() (logical string, line int, ok bool) {
	for {
		r.skipBlanks()
		if r.pos >= len(r.s) {
			return "", 0, false
		}
		if r.eol() {
			continue // blank line
		}
		if c := r.s[r.pos]; c == '#' || c == '!' {
			r.rest() // a comment never continues, even if it ends in `\`
			r.eol()
			continue
		}
		break
	}
	line = r.line
	var b strings.Builder
	for {
		seg := r.rest()
		n := 0
		for n < len(seg) && seg[len(seg)-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			b.WriteString(seg)
			r.eol()
			return b.String(), line, true
		}
		// An odd run of backslashes: the last one joins the next line.
		b.WriteString(seg[:len(seg)-1])
		if !r.eol() {
			return b.String(), line, true // `\` at end of file is dropped
		}
		if b.Len() == 0 {
			// Nothing read yet (a lone `\`): Java 9+ starts over, so a
			// following # or ! line is a comment.
			return r.next()
		}
		r.skipBlanks()
	}
}

// splitKeyValue splits a logical line as Java does: the key ends at the
// first unescaped '=', ':' or blank; blanks and one separator after it are
// skipped.
func splitKeyValue(s string) (key, value string) {
	backslash := false
	end, valStart, sep := len(s), len(s), false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !backslash && (c == '=' || c == ':') {
			end, valStart, sep = i, i+1, true
			break
		}
		if !backslash && isBlank(c) {
			end, valStart = i, i+1
			break
		}
		backslash = c == '\\' && !backslash
	}
	for valStart < len(s) {
		c := s[valStart]
		if !isBlank(c) {
			if !sep && (c == '=' || c == ':') {
				sep = true
			} else {
				break
			}
		}
		valStart++
	}
	return s[:end], s[valStart:]
}

// unescape applies Java's escapes: \t \n \r \f, \uXXXX (UTF-16 units, so
// surrogate pairs combine), and a backslash before any other character is
// dropped.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	var units []uint16 // pending \u code units
	flush := func() {
		if len(units) > 0 {
			b.WriteString(string(utf16.Decode(units)))
			units = units[:0]
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			flush()
			b.WriteByte(c)
			continue
		}
		i++
		c = s[i]
		if c == 'u' {
			if i+5 > len(s) {
				return "", fmt.Errorf("malformed \\uXXXX escape %q", s[i-1:])
			}
			var u uint16
			for _, h := range []byte(s[i+1 : i+5]) {
				d, ok := hexDigit(h)
				if !ok {
					return "", fmt.Errorf("malformed \\uXXXX escape %q", s[i-1:i+5])
				}
				u = u<<4 | uint16(d)
			}
			units = append(units, u)
			i += 4
			continue
		}
		flush()
		switch c {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		default:
			// Dropping the backslash; s is valid UTF-8, so copying the
			// following byte (and then the rest of a multi-byte rune) is safe.
			b.WriteByte(c)
		}
	}
	flush()
	return b.String(), nil
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// javaTrim is String.trim: it strips every character up to U+0020,
// control characters included.
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}
