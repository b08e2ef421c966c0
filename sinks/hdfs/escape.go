package hdfs

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
)

// A template is hdfs.path or hdfs.filePrefix cut into literal text and
// Flume's escapes (BucketPath): %x for a part of the event time, %{name}
// for a header, %[localhost|IP|FQDN] for this host.
type template struct {
	parts    []part
	needTime bool // some %x escape: the event needs a time
	static   bool // no escape at all
}

type part struct {
	lit    string
	kind   byte // 0 literal, 'x' time escape, 'h' header, 's' static
	c      byte // the escape letter
	header string
}

func isWord(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// compileTemplate parses s with Flume's TAG_REGEX rules:
// %(\w|%) | %\{([\w.-]+)\} | %\[(\w+)\]. Text that matches none stays literal.
func compileTemplate(s string) (*template, error) {
	t := &template{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' || i+1 >= len(s) {
			lit.WriteByte(c)
			continue
		}
		n := s[i+1]
		switch {
		case isWord(n) || n == '%':
			flush()
			t.parts = append(t.parts, part{kind: 'x', c: n})
			t.needTime = true
			i++
		case n == '{':
			j := i + 2
			for j < len(s) && (isWord(s[j]) || s[j] == '.' || s[j] == '-') {
				j++
			}
			if j < len(s) && s[j] == '}' && j > i+2 {
				flush()
				t.parts = append(t.parts, part{kind: 'h', header: s[i+2 : j]})
				i = j
			} else {
				lit.WriteByte(c)
			}
		case n == '[':
			j := i + 2
			for j < len(s) && isWord(s[j]) {
				j++
			}
			if j < len(s) && s[j] == ']' && j > i+2 {
				name := s[i+2 : j]
				switch strings.ToLower(name) {
				case "localhost", "ip", "fqdn":
				default:
					return nil, fmt.Errorf("the static escape %%[%s] is not one of %%[localhost], %%[IP], %%[FQDN]", name)
				}
				flush()
				t.parts = append(t.parts, part{kind: 's', header: strings.ToLower(name)})
				i = j
			} else {
				lit.WriteByte(c)
			}
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	t.static = len(t.parts) == 0 || len(t.parts) == 1 && t.parts[0].kind == 0
	return t, nil
}

// staticPrefix is the literal text before the first escape.
func (t *template) staticPrefix() string {
	if len(t.parts) > 0 && t.parts[0].kind == 0 {
		return t.parts[0].lit
	}
	return ""
}

// timeOpts are the sink's settings for the time escapes.
type timeOpts struct {
	loc      *time.Location
	round    time.Duration // unit; 0: no rounding
	roundVal int
	local    bool // hdfs.useLocalTimeStamp
}

// errNoTimestamp is Flume's complaint about an event without a usable
// timestamp header when the path has time escapes.
var errNoTimestamp = errors.New("the event has no timestamp header, which the time escapes of the path need " +
	"(add a timestamp interceptor to the source, or set hdfs.useLocalTimeStamp = true)")

// expand fills the template for one event. now is read once per batch
// (Flume reads the clock once per escapeString). sanitize makes header
// values safe as path text (see sanitizeValue).
func (t *template) expand(e *sluice.Event, o *timeOpts, now time.Time, b *strings.Builder) error {
	var (
		ts     time.Time
		tsText string
		have   bool
	)
	for _, p := range t.parts {
		switch p.kind {
		case 0:
			b.WriteString(p.lit)
		case 'h':
			b.WriteString(sanitizeValue(e.Headers[p.header]))
		case 's':
			b.WriteString(sanitizeValue(hostValue(p.header)))
		case 'x':
			if !have {
				var err error
				ts, tsText, err = eventTime(e, o, now)
				if err != nil {
					return err
				}
				have = true
			}
			writeTimeEscape(b, p.c, ts, tsText)
		}
	}
	return nil
}

// eventTime is the time of the escapes: the timestamp header (milliseconds
// since the epoch, as Java's Long.valueOf reads it) or the agent's clock,
// rounded down and placed in the sink's zone.
func eventTime(e *sluice.Event, o *timeOpts, now time.Time) (time.Time, string, error) {
	var ms int64
	var text string
	if o.local {
		ms = now.UnixMilli()
		text = strconv.FormatInt(ms, 10)
	} else {
		h, ok := e.Headers["timestamp"]
		if !ok {
			return time.Time{}, "", errNoTimestamp
		}
		v, err := strconv.ParseInt(strings.TrimPrefix(h, "+"), 10, 64)
		if err != nil || h == "" {
			return time.Time{}, "", fmt.Errorf("the timestamp header %q is not a number of milliseconds, which the time escapes of the path need", h)
		}
		ms, text = v, h
	}
	t := time.UnixMilli(ms).In(o.loc)
	if o.round > 0 {
		t = roundDown(t, o.round, o.roundVal)
	}
	return t, text, nil
}

// roundDown is Flume's TimestampRoundDownUtil: the field of the unit goes
// down to a multiple of n and the smaller fields to zero, in the zone.
func roundDown(t time.Time, unit time.Duration, n int) time.Time {
	if n <= 0 {
		n = 1
	}
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	switch unit {
	case time.Second:
		s = s / n * n
	case time.Minute:
		mi, s = mi/n*n, 0
	case time.Hour:
		h, mi, s = h/n*n, 0, 0
	}
	return time.Date(y, mo, d, h, mi, s, 0, t.Location())
}

// writeTimeEscape writes one %x escape as Flume's SimpleDateFormat patterns
// do (English names). An unknown letter writes nothing, as in Flume.
func writeTimeEscape(b *strings.Builder, c byte, t time.Time, tsText string) {
	switch c {
	case '%':
		b.WriteByte('%')
	case 'a':
		b.WriteString(t.Format("Mon"))
	case 'A':
		b.WriteString(t.Format("Monday"))
	case 'b':
		b.WriteString(t.Format("Jan"))
	case 'B':
		b.WriteString(t.Format("January"))
	case 'c':
		b.WriteString(t.Format("Mon Jan 2 15:04:05 ") + year4(t.Year()))
	case 'd':
		b.WriteString(t.Format("02"))
	case 'e':
		b.WriteString(strconv.Itoa(t.Day()))
	case 'D':
		b.WriteString(t.Format("01/02/06"))
	case 'H':
		b.WriteString(t.Format("15"))
	case 'I':
		b.WriteString(t.Format("03"))
	case 'j':
		fmt.Fprintf(b, "%03d", t.YearDay())
	case 'k':
		b.WriteString(strconv.Itoa(t.Hour()))
	case 'l':
		b.WriteString(t.Format("3"))
	case 'm':
		b.WriteString(t.Format("01"))
	case 'M':
		b.WriteString(t.Format("04"))
	case 'n':
		b.WriteString(strconv.Itoa(int(t.Month())))
	case 'p':
		b.WriteString(t.Format("PM"))
	case 's':
		b.WriteString(strconv.FormatInt(t.UnixMilli()/1000, 10))
	case 'S':
		b.WriteString(t.Format("05"))
	case 't':
		b.WriteString(tsText)
	case 'y':
		fmt.Fprintf(b, "%02d", t.Year()%100)
	case 'Y':
		b.WriteString(year4(t.Year()))
	case 'z':
		b.WriteString(t.Format("-0700"))
	}
}

func year4(y int) string { return fmt.Sprintf("%04d", y) }

// sanitizeValue makes a header (or host) value safe inside a path: it can
// neither add a directory level nor climb out of hdfs.path. '/' and '\',
// NUL and other control characters become '_'; a value made only of dots
// (".", "..") becomes as many underscores.
func sanitizeValue(v string) string {
	clean := true
	dots := v != ""
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '/' || c == '\\' || c < 0x20 || c == 0x7f {
			clean = false
		}
		if c != '.' {
			dots = false
		}
	}
	if clean && !dots {
		return v
	}
	if dots {
		return strings.Repeat("_", len(v))
	}
	b := []byte(v)
	for i, c := range b {
		if c == '/' || c == '\\' || c < 0x20 || c == 0x7f {
			b[i] = '_'
		}
	}
	return string(b)
}

var hostOnce struct {
	sync.Once
	name, ip, fqdn string
}

// hostValue answers %[localhost], %[IP] and %[FQDN] as Java's
// InetAddress.getLocalHost would, looked up once.
func hostValue(which string) string {
	hostOnce.Do(func() {
		h, _ := os.Hostname()
		hostOnce.name, hostOnce.fqdn = h, h
		if addrs, err := net.LookupHost(h); err == nil && len(addrs) > 0 {
			hostOnce.ip = addrs[0]
			for _, a := range addrs {
				if ip := net.ParseIP(a); ip != nil && ip.To4() != nil {
					hostOnce.ip = a
					break
				}
			}
			if names, err := net.LookupAddr(hostOnce.ip); err == nil && len(names) > 0 {
				hostOnce.fqdn = strings.TrimSuffix(names[0], ".")
			}
		}
		if hostOnce.ip == "" {
			hostOnce.ip = "127.0.0.1"
		}
	})
	switch which {
	case "localhost":
		return hostOnce.name
	case "ip":
		return hostOnce.ip
	}
	return hostOnce.fqdn
}
