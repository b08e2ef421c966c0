// Package syslog parses syslog messages (RFC 3164 and RFC 5424) into
// Flume's event headers and body, and splits a TCP stream into messages
// (newline and RFC 6587 octet-counted framing). The three syslog sources
// share it.
//
// The grammar is that of Flume's SyslogUtils (the regular expressions of
// its syslogtcp and syslogudp sources), written out by hand: a message
// that does not start with a valid <PRI> is Invalid; one whose header
// matches neither RFC keeps its whole text as the body.
package syslog

import (
	"strconv"
	"strings"
	"time"
)

// Flume's header names.
const (
	HeaderFacility = "Facility"
	HeaderSeverity = "Severity"
	HeaderStatus   = "flume.syslog.status"
	HeaderTime     = "timestamp"
	HeaderHost     = "host"

	StatusInvalid    = "Invalid"
	StatusIncomplete = "Incomplete"
)

// Style picks which of Flume's two syslog parsers' header names (and time
// zone rules) the events carry.
type Style int

const (
	// StyleUtils is syslogtcp's and syslogudp's (Flume's SyslogUtils):
	// lower-case "priority" and "version", no timestamp header for "-".
	StyleUtils Style = iota
	// StyleMultiport is multiport_syslogtcp's (Flume's SyslogParser):
	// "Priority" and "Version", and the time of receipt for "-".
	StyleMultiport
)

// Keep says which header fields stay in the body (Flume's keepFields).
type Keep struct {
	All                                    bool
	Priority, Version, Timestamp, Hostname bool
}

// ParseKeep reads keepFields as Flume does: none/false, all/true, or any
// text naming some of priority, version, timestamp and hostname (Flume
// looks for each word anywhere in the value, so any separator works).
func ParseKeep(s string) Keep {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "", "none", "false":
		return Keep{}
	case "all", "true":
		return Keep{All: true}
	}
	return Keep{
		Priority:  strings.Contains(s, "priority"),
		Version:   strings.Contains(s, "version"),
		Timestamp: strings.Contains(s, "timestamp"),
		Hostname:  strings.Contains(s, "hostname"),
	}
}

// CheckKeep reports words of a keepFields list that name no field, which
// Flume silently ignores.
func CheckKeep(s string) []string {
	l := strings.ToLower(strings.TrimSpace(s))
	switch l {
	case "", "none", "false", "all", "true":
		return nil
	}
	var bad []string
	for _, w := range strings.FieldsFunc(l, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
		switch w {
		case "priority", "version", "timestamp", "hostname":
		default:
			bad = append(bad, w)
		}
	}
	return bad
}

// Parser turns one message (framing removed) into an event's headers and
// body. Its fields are read-only once in use, so one Parser may serve many
// goroutines.
type Parser struct {
	Style Style
	Keep  Keep
	// Loc is the zone of timestamps that carry no offset: RFC 3164 ones
	// and RFC 5424 ones without one. Nil means time.Local.
	Loc *time.Location
	// Now is the clock (for the year of RFC 3164 timestamps); nil means
	// time.Now.
	Now func() time.Time
}

// header is what the grammar found in a message.
type header struct {
	pri      string // the digits between < and >
	version  string // "" when absent
	stamp    []byte // the timestamp as written; "-" for the nil one
	host     string // "-" for the nil one
	body     []byte
	rfc5424  bool
	hasStamp bool // stamp is not "-"
}

// Parse returns the headers and body of msg. cut says msg was cut at the
// event size (it becomes Incomplete). The body never aliases msg.
func (p *Parser) Parse(msg []byte, cut bool) (map[string]string, []byte) {
	h := make(map[string]string, 8)
	pri, rest, ok := priority(msg)
	if !ok {
		if p.Style == StyleUtils {
			h[HeaderFacility], h[HeaderSeverity] = "0", "0"
		}
		h[HeaderStatus] = StatusInvalid
		return h, clone(msg)
	}
	n, _ := strconv.Atoi(pri) // at most three digits
	h[HeaderFacility] = strconv.Itoa(n / 8)
	h[HeaderSeverity] = strconv.Itoa(n % 8)
	if cut {
		h[HeaderStatus] = StatusIncomplete
	}
	var hd header
	matched := match5424(rest, &hd) || match3164(rest, &hd)
	if p.Style == StyleMultiport {
		h["Priority"] = pri
	}
	if !matched {
		return h, clone(msg)
	}
	hd.pri = pri
	if p.Style == StyleUtils {
		h["priority"] = pri
		if hd.version != "" {
			h["version"] = hd.version
		}
	} else if hd.version != "" {
		h["Version"] = hd.version
	}
	if hd.hasStamp {
		if ms, ok := p.millis(&hd); ok {
			h[HeaderTime] = strconv.FormatInt(ms, 10)
		}
	} else if p.Style == StyleMultiport {
		h[HeaderTime] = strconv.FormatInt(p.now().UnixMilli(), 10)
	}
	if hd.host != "-" {
		h[HeaderHost] = hd.host
	}
	if p.Keep.All || len(hd.body) == 0 {
		return h, clone(msg)
	}
	return h, p.keptBody(&hd)
}

func (p *Parser) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Parser) loc() *time.Location {
	if p.Loc != nil {
		return p.Loc
	}
	return time.Local
}

// keptBody is the message body with the kept fields in front, in Flume's
// order: <PRI>VERSION TIMESTAMP HOSTNAME BODY.
func (p *Parser) keptBody(hd *header) []byte {
	k := p.Keep
	size := len(hd.body)
	if k.Priority {
		size += len(hd.pri) + 2
	}
	if k.Version && hd.version != "" {
		size += len(hd.version) + 1
	}
	if k.Timestamp {
		size += len(hd.stamp) + 1
	}
	if k.Hostname {
		size += len(hd.host) + 1
	}
	b := make([]byte, 0, size)
	if k.Priority {
		b = append(append(append(b, '<'), hd.pri...), '>')
	}
	if k.Version && hd.version != "" {
		b = append(append(b, hd.version...), ' ')
	}
	if k.Timestamp {
		b = append(append(b, hd.stamp...), ' ')
	}
	if k.Hostname {
		b = append(append(b, hd.host...), ' ')
	}
	return append(b, hd.body...)
}

func clone(b []byte) []byte { return append(make([]byte, 0, len(b)), b...) }

// priority reads "<" 1*3DIGIT ">" and returns the digits and what follows.
func priority(msg []byte) (string, []byte, bool) {
	if len(msg) < 3 || msg[0] != '<' {
		return "", nil, false
	}
	i := 1
	for i < len(msg) && i <= 4 && isDigit(msg[i]) {
		i++
	}
	if i == 1 || i > 4 || i >= len(msg) || msg[i] != '>' {
		return "", nil, false
	}
	return string(msg[1:i]), msg[i+1:], true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isSpace is Java's \s: space, tab, newline, vertical tab, form feed, CR.
func isSpace(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }

// isWord is Java's \w.
func isWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '_'
}

// versions yields the ways Flume's "(\d?)\s?" (RFC 5424) or "(\d)?\s?"
// (RFC 3164) prefix can match, in the order a backtracking matcher tries
// them: the version digit and where the timestamp starts.
func versions(b []byte, try func(version string, at int) bool) bool {
	if len(b) > 0 && isDigit(b[0]) {
		if len(b) > 1 && isSpace(b[1]) && try(string(b[:1]), 2) {
			return true
		}
		if try(string(b[:1]), 1) {
			return true
		}
	}
	if len(b) > 0 && isSpace(b[0]) && try("", 1) {
		return true
	}
	return try("", 0)
}

// match5424 matches Flume's RFC 5424 pattern:
// (\d?)\s? (STAMP|-) \s (HOST|-) \s (BODY).
func match5424(b []byte, hd *header) bool {
	return versions(b, func(v string, at int) bool {
		i := at
		stamp := b[i:min(i+1, len(b))]
		if i < len(b) && b[i] == '-' {
			i++
		} else {
			n := stamp5424(b[i:])
			if n == 0 {
				return false
			}
			stamp = b[i : i+n]
			i += n
		}
		if i >= len(b) || !isSpace(b[i]) {
			return false
		}
		i++
		var host string
		if i < len(b) && b[i] == '-' {
			host = "-"
			i++
		} else {
			n := hostLen(b[i:])
			if n == 0 {
				return false
			}
			host = string(b[i : i+n])
			i += n
		}
		if i >= len(b) || !isSpace(b[i]) {
			return false
		}
		*hd = header{version: v, stamp: stamp, hasStamp: string(stamp) != "-", host: host, body: b[i+1:], rfc5424: true}
		return true
	})
}

// match3164 matches Flume's RFC 3164 pattern:
// (\d)?\s? Mmm\s{1,2}d{1,2}\sHH:MM:SS \s HOST \s (BODY).
func match3164(b []byte, hd *header) bool {
	return versions(b, func(v string, at int) bool {
		n := stamp3164(b[at:])
		if n == 0 {
			return false
		}
		i := at + n
		if i >= len(b) || !isSpace(b[i]) {
			return false
		}
		i++
		hn := hostLen(b[i:])
		if hn == 0 {
			return false
		}
		host := string(b[i : i+hn])
		i += hn
		if i >= len(b) || !isSpace(b[i]) {
			return false
		}
		*hd = header{version: v, stamp: b[at : at+n], hasStamp: true, host: host, body: b[i+1:]}
		return true
	})
}

// hostLen is the length of a host name at the start of b: \w then any of
// \w . @ -, as both of Flume's patterns say. 0 when there is none.
func hostLen(b []byte) int {
	if len(b) == 0 || !isWord(b[0]) {
		return 0
	}
	i := 1
	for i < len(b) && (isWord(b[i]) || b[i] == '.' || b[i] == '@' || b[i] == '-') {
		i++
	}
	return i
}

// digits reports whether b[i:i+n] are all digits.
func digits(b []byte, i, n int) bool {
	if i+n > len(b) {
		return false
	}
	for _, c := range b[i : i+n] {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// stamp5424 is the length of an RFC 5424 timestamp at the start of b:
// YYYY-MM-DDTHH:MM:SS[.F{1,6}][Z|+HH:MM|-HH:MM], or 0.
func stamp5424(b []byte) int {
	if len(b) < 19 || !digits(b, 0, 4) || b[4] != '-' || !digits(b, 5, 2) || b[7] != '-' ||
		!digits(b, 8, 2) || b[10] != 'T' || !digits(b, 11, 2) || b[13] != ':' ||
		!digits(b, 14, 2) || b[16] != ':' || !digits(b, 17, 2) {
		return 0
	}
	i := 19
	if i < len(b) && b[i] == '.' {
		j := i + 1
		for j < len(b) && j-i-1 < 6 && isDigit(b[j]) {
			j++
		}
		if j > i+1 {
			i = j
		}
	}
	if i < len(b) && b[i] == 'Z' {
		i++
	} else if i+6 <= len(b) && (b[i] == '+' || b[i] == '-') && digits(b, i+1, 2) && b[i+3] == ':' && digits(b, i+4, 2) {
		i += 6
	}
	return i
}

var months = map[string]time.Month{
	"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
	"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}

// stamp3164 is the length of an RFC 3164 timestamp at the start of b
// ("Mmm dd HH:MM:SS", the day space- or zero-padded), or 0.
func stamp3164(b []byte) int {
	if len(b) < 14 || !(b[0] >= 'A' && b[0] <= 'Z') || !(b[1] >= 'a' && b[1] <= 'z') || !(b[2] >= 'a' && b[2] <= 'z') {
		return 0
	}
	i := 3
	for i < len(b) && i < 5 && isSpace(b[i]) {
		i++
	}
	if i == 3 {
		return 0
	}
	d := i
	for i < len(b) && i-d < 2 && isDigit(b[i]) {
		i++
	}
	if i == d || i >= len(b) || !isSpace(b[i]) {
		return 0
	}
	i++
	if !digits(b, i, 2) || i+8 > len(b) || b[i+2] != ':' || !digits(b, i+3, 2) || b[i+5] != ':' || !digits(b, i+6, 2) {
		return 0
	}
	return i + 8
}

func atoi[T string | []byte](s T) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// millis is the event time of hd's timestamp in milliseconds since the
// epoch. RFC 3164 stamps have no year: the year is the one that puts the
// time at most a month ahead of now and at most eleven months behind it
// (Flume's rolling window).
func (p *Parser) millis(hd *header) (int64, bool) {
	s := hd.stamp
	if hd.rfc5424 {
		loc, off := p.loc(), 0
		zoned := false
		ns := 0
		i := 19
		if i < len(s) && s[i] == '.' {
			j := i + 1
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			frac := s[i+1 : j]
			// Milliseconds: further digits are cut off, as in Flume.
			ms := 0
			for k := range 3 {
				ms *= 10
				if k < len(frac) {
					ms += int(frac[k] - '0')
				}
			}
			ns = ms * int(time.Millisecond)
			i = j
		}
		if i < len(s) {
			// An offset is applied by hand: a FixedZone per message
			// would allocate.
			zoned, loc = true, time.UTC
			if s[i] != 'Z' {
				off = (atoi(s[i+1:i+3])*60 + atoi(s[i+4:i+6])) * 60
				if s[i] == '-' {
					off = -off
				}
			}
		}
		t := time.Date(atoi(s[0:4]), time.Month(atoi(s[5:7])), atoi(s[8:10]),
			atoi(s[11:13]), atoi(s[14:16]), atoi(s[17:19]), ns, loc)
		if zoned {
			t = t.Add(-time.Duration(off) * time.Second)
		}
		return t.UnixMilli(), true
	}
	mon, ok := months[string(s[:3])]
	if !ok {
		return 0, false
	}
	// stamp3164 checked the shape: Mmm, 1-2 blanks, 1-2 digits of day,
	// a blank, HH:MM:SS.
	i := 3
	for isSpace(s[i]) {
		i++
	}
	d := i
	for isDigit(s[i]) {
		i++
	}
	day, clock := s[d:i], s[i+1:]
	now := p.now()
	t := time.Date(now.UTC().Year(), mon, atoi(day), atoi(clock[0:2]), atoi(clock[3:5]), atoi(clock[6:8]), 0, p.loc())
	if t.After(now) && t.AddDate(0, -1, 0).After(now) {
		t = t.AddDate(-1, 0, 0)
	} else if t.Before(now) && t.AddDate(0, 11, 0).Before(now) {
		t = t.AddDate(1, 0, 0)
	}
	return t.UnixMilli(), true
}
