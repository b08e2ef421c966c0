// Package jodatime reads Joda-Time patterns (DateTimeFormat.forPattern), the
// date patterns Flume users write in their configuration: the
// regex_extractor interceptor's millis serializer parses with them.
package jodatime

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Layout parses text the way Joda-Time's DateTimeFormat.forPattern(p)
// .parseDateTime does (Flume's RegexExtractorInterceptorMillisSerializer),
// for the pattern letters Flume users meet in log lines.
type Layout struct {
	pattern string
	steps   []step
	loc     *time.Location // the JVM default zone's counterpart
	pivot   int            // two-digit years land in [pivot-50, pivot+49]
}

type step struct {
	letter   byte   // 0 for a literal
	lit      string // literal text
	max      int    // most digits a number may have
	signed   bool
	twoDigit bool // yy: two digits with a pivot, or a full year when lenient
	lenient  bool
	count    int // pattern letters in the token
}

var letterNames = map[byte]string{
	'G': "era", 'C': "century of era", 'x': "week year", 'w': "week of week year", 'z': "time zone name",
}

// Compile reads a Joda pattern. Letters Joda does not know are errors,
// as in Joda; letters Joda knows but this parser does not (era, century,
// week-based fields, zone names) are errors too, named. loc is the zone of
// text that names none (Joda's JVM default zone); now places two-digit years.
func Compile(pattern string, loc *time.Location, now time.Time) (*Layout, error) {
	if pattern == "" {
		return nil, errors.New("is empty")
	}
	l := &Layout{pattern: pattern, loc: loc, pivot: now.Year() - 30}
	toks, err := tokenize(pattern)
	if err != nil {
		return nil, err
	}
	for i, tok := range toks {
		if tok.letter == 0 {
			l.steps = append(l.steps, tok)
			continue
		}
		c, n := tok.letter, tok.count
		nextNumeric := i+1 < len(toks) && isNumeric(toks[i+1])
		s := step{letter: c, count: n}
		switch c {
		case 'y', 'Y':
			if n == 2 {
				s.twoDigit, s.lenient = true, !nextNumeric
			} else {
				s.max, s.signed = 9, c == 'y'
				if nextNumeric {
					s.max = n
				}
			}
		case 'M':
			s.max = 2 // text when n >= 3, see Parse
		case 'd', 'H', 'k', 'K', 'h', 'm', 's':
			s.max = 2
		case 'D':
			s.max = 3
		case 'e':
			s.max = 1
		case 'S':
			s.max = n // Joda reads at most as many digits as letters
		case 'E', 'a', 'Z':
		case 'z':
			return nil, fmt.Errorf("uses %q (time zone name), which Joda-Time cannot parse either; use Z, ZZ or ZZZ", "z")
		default:
			if name, ok := letterNames[c]; ok {
				return nil, fmt.Errorf("uses pattern letter %q (%s), which Sluice does not support (supported: y Y M d D E e a H k K h m s S Z)", string(c), name)
			}
			return nil, fmt.Errorf("uses pattern letter %q, which is not a Joda-Time pattern letter (supported: y Y M d D E e a H k K h m s S Z)", string(c))
		}
		l.steps = append(l.steps, s)
	}
	return l, nil
}

// tokenize splits a pattern as Joda's DateTimeFormat does: runs of one
// letter, quoted text (” is a quote), and other characters as literals.
func tokenize(p string) ([]step, error) {
	var toks []step
	lit := func(s string) {
		if n := len(toks); n > 0 && toks[n-1].letter == 0 {
			toks[n-1].lit += s
			return
		}
		toks = append(toks, step{lit: s})
	}
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(p) && p[j] == c {
				j++
			}
			toks = append(toks, step{letter: c, count: j - i})
			i = j
		case c == '\'':
			if i+1 < len(p) && p[i+1] == '\'' {
				lit("'")
				i += 2
				continue
			}
			var b strings.Builder
			j := i + 1
			for ; j < len(p); j++ {
				if p[j] == '\'' {
					if j+1 < len(p) && p[j+1] == '\'' {
						b.WriteByte('\'')
						j++
						continue
					}
					break
				}
				b.WriteByte(p[j])
			}
			if j >= len(p) {
				return nil, fmt.Errorf("has an unterminated quote at offset %d", i)
			}
			lit(b.String())
			i = j + 1
		default:
			lit(string(c))
			i++
		}
	}
	return toks, nil
}

// isNumeric is Joda's isNumericToken: the token parses as a number.
func isNumeric(t step) bool {
	switch t.letter {
	case 'c', 'C', 'x', 'y', 'Y', 'd', 'h', 'H', 'm', 's', 'S', 'e', 'D', 'F', 'w', 'W', 'k', 'K':
		return true
	case 'M':
		return t.count <= 2
	}
	return false
}

var (
	monthNames = []string{"january", "february", "march", "april", "may", "june", "july",
		"august", "september", "october", "november", "december"}
	dayNames = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
)

// matchName matches the longest of names (full or three-letter, any case)
// at s, as Joda's text parsers do (English locale). It returns the 1-based
// value and the length consumed.
func matchName(s string, names []string) (int, int) {
	best, bestLen := 0, 0
	for i, n := range names {
		for _, cand := range []string{n, n[:3]} {
			if len(cand) > bestLen && len(s) >= len(cand) && strings.EqualFold(s[:len(cand)], cand) {
				best, bestLen = i+1, len(cand)
			}
		}
	}
	return best, bestLen
}

// readDigits reads 1..max ASCII digits.
func readDigits(s string, max int) (int, int) {
	v, n := 0, 0
	for n < max && n < len(s) && s[n] >= '0' && s[n] <= '9' {
		v = v*10 + int(s[n]-'0')
		n++
	}
	return v, n
}

var zoneCache sync.Map // zone id -> *time.Location

type fields struct {
	year, month, dom, doy, dow            int
	hour, halfHour, minute, second, nanos int
	pm                                    int // -1 unset
	offset                                *int
	zone                                  *time.Location
}

// Parse returns the instant text denotes. The whole text must match.
func (l *Layout) Parse(text string) (time.Time, error) {
	f := fields{pm: -1}
	set := map[byte]bool{}
	s := text
	fail := func(what string) (time.Time, error) {
		pos := len(text) - len(s)
		return time.Time{}, fmt.Errorf("%q does not match pattern %q: %s at offset %d", text, l.pattern, what, pos)
	}
	for _, st := range l.steps {
		if st.letter == 0 {
			if len(s) < len(st.lit) || !strings.EqualFold(s[:len(st.lit)], st.lit) {
				return fail(fmt.Sprintf("expected %q", st.lit))
			}
			s = s[len(st.lit):]
			continue
		}
		set[st.letter] = true
		switch st.letter {
		case 'y', 'Y':
			if st.twoDigit {
				v, n, ok := l.twoDigitYear(s, st.lenient)
				if !ok {
					return fail("expected a year")
				}
				f.year, s = v, s[n:]
				continue
			}
			neg := false
			if st.signed && len(s) > 0 && (s[0] == '-' || s[0] == '+') {
				neg, s = s[0] == '-', s[1:]
			}
			v, n := readDigits(s, st.max)
			if n == 0 {
				return fail("expected a year")
			}
			if neg {
				v = -v
			}
			f.year, s = v, s[n:]
		case 'M':
			var v, n int
			if st.count >= 3 {
				v, n = matchName(s, monthNames)
			} else {
				v, n = readDigits(s, st.max)
			}
			if n == 0 {
				return fail("expected a month")
			}
			f.month, s = v, s[n:]
		case 'E':
			v, n := matchName(s, dayNames)
			if n == 0 {
				return fail("expected a day of the week")
			}
			f.dow, s = v, s[n:]
		case 'a':
			switch {
			case len(s) >= 2 && strings.EqualFold(s[:2], "am"):
				f.pm = 0
			case len(s) >= 2 && strings.EqualFold(s[:2], "pm"):
				f.pm = 1
			default:
				return fail("expected AM or PM")
			}
			s = s[2:]
		case 'S':
			// A fraction: "5" is half a second, whatever the letter count.
			v, n := readDigits(s, st.max)
			if n == 0 {
				return fail("expected a fraction of a second")
			}
			for i := n; i < 9; i++ {
				v *= 10
			}
			f.nanos, s = v, s[n:]
		case 'Z':
			n, ok := l.zone(s, st.count, &f)
			if !ok {
				return fail("expected a time zone")
			}
			s = s[n:]
		default:
			v, n := readDigits(s, st.max)
			if n == 0 {
				return fail("expected a number")
			}
			s = s[n:]
			switch st.letter {
			case 'd':
				f.dom = v
			case 'D':
				f.doy = v
			case 'e':
				f.dow = v
			case 'H', 'k':
				f.hour = v
			case 'K', 'h':
				f.halfHour = v
			case 'm':
				f.minute = v
			case 's':
				f.second = v
			}
		}
	}
	if s != "" {
		return fail("unexpected trailing text")
	}
	return l.compute(text, &f, set)
}

func (l *Layout) twoDigitYear(s string, lenient bool) (int, int, bool) {
	if lenient {
		// Anything but exactly two digits is a full year.
		neg, sign := false, 0
		if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
			neg, sign = s[0] == '-', 1
		}
		v, n := readDigits(s[sign:], 9)
		if n == 0 {
			return 0, 0, false
		}
		if sign == 1 || n != 2 {
			if neg {
				v = -v
			}
			return v, sign + n, true
		}
	}
	v, n := readDigits(s, 2)
	if n != 2 {
		return 0, 0, false
	}
	low := l.pivot - 50
	var t int
	if low >= 0 {
		t = low % 100
	} else {
		t = 99 + (low+1)%100
	}
	if v < t {
		v += 100
	}
	return v + low - t, 2, true
}

// zone reads Z (+0800), ZZ (+08:00) or ZZZ (America/New_York). Joda reads
// offsets with or without the colon whichever the letter count, and "Z"
// as UTC.
func (l *Layout) zone(s string, count int, f *fields) (int, bool) {
	if count >= 3 {
		n := 0
		for n < len(s) && (s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z' ||
			s[n] >= '0' && s[n] <= '9' || strings.IndexByte("/_+-", s[n]) >= 0) {
			n++
		}
		if n == 0 {
			return 0, false
		}
		id := s[:n]
		if v, ok := zoneCache.Load(id); ok {
			f.zone = v.(*time.Location)
			return n, true
		}
		loc, err := time.LoadLocation(id)
		if err != nil || id == "Local" {
			return 0, false
		}
		zoneCache.Store(id, loc)
		f.zone = loc
		return n, true
	}
	if len(s) > 0 && (s[0] == 'Z' || s[0] == 'z') {
		zero := 0
		f.offset = &zero
		return 1, true
	}
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') {
		return 0, false
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	i := 1
	part := func() (int, bool) {
		if i+2 > len(s) {
			return 0, false
		}
		v, n := readDigits(s[i:], 2)
		if n != 2 {
			return 0, false
		}
		i += 2
		return v, true
	}
	h, ok := part()
	if !ok || h > 23 {
		return 0, false
	}
	secs := h * 3600
	for _, mul := range []int{60, 1} {
		j := i
		if i < len(s) && s[i] == ':' {
			i++
		}
		v, ok := part()
		if !ok || v > 59 {
			i = j
			break
		}
		secs += v * mul
	}
	off := sign * secs
	f.offset = &off
	return i, true
}

// compute applies the fields in Joda's order (largest first) to 1970-01-01
// 00:00, with Joda's range checks.
func (l *Layout) compute(text string, f *fields, set map[byte]bool) (time.Time, error) {
	bad := func(name string, v, lo, hi int) (time.Time, error) {
		return time.Time{}, fmt.Errorf("%q does not match pattern %q: %s %d is not in [%d, %d]", text, l.pattern, name, v, lo, hi)
	}
	year := 1970
	switch {
	case set['y'] || set['Y']:
		year = f.year
	case set['M'] || set['d'] || set['D'] || set['E'] || set['e']:
		year = 2000 // Joda's default year when only month or day is given
	}
	month, day := 1, 1
	if set['M'] {
		if f.month < 1 || f.month > 12 {
			return bad("month", f.month, 1, 12)
		}
		month = f.month
	}
	if set['D'] {
		n := daysIn(year, 0)
		if f.doy < 1 || f.doy > n {
			return bad("day of year", f.doy, 1, n)
		}
		month, day = 1, f.doy // time.Date normalises
	}
	if set['d'] {
		m := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).Month()
		n := daysIn(year, m)
		if f.dom < 1 || f.dom > n {
			return bad("day of month", f.dom, 1, n)
		}
		month, day = int(m), f.dom
	}
	hour := 0
	if f.pm >= 0 {
		hour = 12 * f.pm
	}
	switch {
	case set['H']:
		if f.hour > 23 {
			return bad("hour of day", f.hour, 0, 23)
		}
		hour = f.hour
	case set['k']:
		if f.hour < 1 || f.hour > 24 {
			return bad("clock hour of day", f.hour, 1, 24)
		}
		hour = f.hour % 24
	}
	switch {
	case set['K']:
		if f.halfHour > 11 {
			return bad("hour of half day", f.halfHour, 0, 11)
		}
		hour = hour/12*12 + f.halfHour
	case set['h']:
		if f.halfHour < 1 || f.halfHour > 12 {
			return bad("clock hour of half day", f.halfHour, 1, 12)
		}
		hour = hour/12*12 + f.halfHour%12
	}
	if f.minute > 59 {
		return bad("minute", f.minute, 0, 59)
	}
	if f.second > 59 {
		return bad("second", f.second, 0, 59)
	}
	if (set['e'] || set['E']) && (f.dow < 1 || f.dow > 7) {
		return bad("day of week", f.dow, 1, 7)
	}
	loc := l.loc
	switch {
	case f.offset != nil:
		loc = time.FixedZone("", *f.offset)
	case f.zone != nil:
		loc = f.zone
	}
	// Nanoseconds below the millisecond are dropped, as Joda keeps millis.
	t := time.Date(year, time.Month(month), day, hour, f.minute, f.second, f.nanos/1e6*1e6, loc)
	if t.Hour() != hour || t.Minute() != f.minute {
		// time.Date moved a wall time that does not exist; Joda refuses it.
		return time.Time{}, fmt.Errorf("%q does not match pattern %q: the local time does not exist in zone %s (daylight saving gap)", text, l.pattern, loc)
	}
	// In a repeated hour Joda takes the earlier instant (the summer offset).
	if e := t.Add(-time.Hour); e.Hour() == hour && e.Minute() == f.minute && e.Day() == t.Day() {
		t = e
	}
	if set['e'] || set['E'] {
		// Joda sets the day of the week within the same Monday-based week.
		cur := int(t.Weekday()+6)%7 + 1
		t = t.AddDate(0, 0, f.dow-cur)
	}
	return t, nil
}

func daysIn(year int, m time.Month) int {
	if m == 0 {
		return time.Date(year, 12, 31, 0, 0, 0, 0, time.UTC).YearDay()
	}
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
