package syslog

import (
	"maps"
	"strconv"
	"testing"
	"time"
)

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// utc parses the headers in UTC with a fixed clock.
func parser(style Style, keep string, now time.Time) *Parser {
	return &Parser{Style: style, Keep: ParseKeep(keep), Loc: time.UTC, Now: func() time.Time { return now }}
}

var now = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

// The cases of Flume's TestSyslogUtils (TestHeader0..11, the bad and good
// events) and RFC 5424's examples, with what Flume's syslogtcp puts in the
// headers and body.
func TestParseFlumeAndRFCVectors(t *testing.T) {
	host := "ubuntu-11.cloudera.com"
	at := func(s string) string {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return ms(tm)
	}
	cases := []struct {
		name, msg string
		want      map[string]string
		body      string
	}{
		{"offset no version", "<10>2012-04-13T11:11:11+08:00 " + host + " some msg",
			map[string]string{"Facility": "1", "Severity": "2", "priority": "10", "timestamp": at("2012-04-13T11:11:11+08:00"), "host": host}, "some msg"},
		{"version no zone (local = UTC here)", "<10>1 2012-04-13T11:11:11 " + host + " some msg",
			map[string]string{"Facility": "1", "Severity": "2", "priority": "10", "version": "1", "timestamp": at("2012-04-13T11:11:11Z"), "host": host}, "some msg"},
		{"Z", "<10>1 2012-04-13T11:11:11Z " + host + " some msg",
			map[string]string{"Facility": "1", "Severity": "2", "priority": "10", "version": "1", "timestamp": at("2012-04-13T11:11:11Z"), "host": host}, "some msg"},
		{"nil stamp", "<10>1 - " + host + " some msg",
			map[string]string{"Facility": "1", "Severity": "2", "priority": "10", "version": "1", "host": host}, "some msg"},
		{"nil host", "<10>1 2012-04-13T11:11:11+08:00 - some msg",
			map[string]string{"Facility": "1", "Severity": "2", "priority": "10", "version": "1", "timestamp": at("2012-04-13T11:11:11+08:00")}, "some msg"},
		{"millis", "<10>1 2012-04-13T11:11:11.999 " + host + " some msg",
			map[string]string{"Facility": "1", "Severity": "2", "priority": "10", "version": "1", "timestamp": at("2012-04-13T11:11:11.999Z"), "host": host}, "some msg"},
		{"micros cut to millis, offset kept", "<10>2014-10-03T17:20:01.123456-07:00 " + host + " some msg",
			map[string]string{"Facility": "1", "Severity": "2", "priority": "10", "timestamp": at("2014-10-03T17:20:01.123-07:00"), "host": host}, "some msg"},
		{"one fraction digit is tenths", "<10>2014-10-03T17:20:01.5Z h m",
			map[string]string{"Facility": "1", "Severity": "2", "priority": "10", "timestamp": at("2014-10-03T17:20:01.5Z"), "host": "h"}, "m"},
		{"rfc5424 example 1", "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - BOM'su root' failed for lonvick on /dev/pts/8",
			map[string]string{"Facility": "4", "Severity": "2", "priority": "34", "version": "1", "timestamp": at("2003-10-11T22:14:15.003Z"), "host": "mymachine.example.com"},
			"su - ID47 - BOM'su root' failed for lonvick on /dev/pts/8"},
		{"rfc5424 example 2", "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
			map[string]string{"Facility": "20", "Severity": "5", "priority": "165", "version": "1", "timestamp": at("2003-08-24T05:14:15-07:00"), "host": "192.0.2.1"},
			"myproc 8710 - - %% It's time to make the do-nuts."},
		{"rfc3164 example", "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
			map[string]string{"Facility": "4", "Severity": "2", "priority": "34", "timestamp": ms(time.Date(2025, 10, 11, 22, 14, 15, 0, time.UTC)), "host": "mymachine"},
			"su: 'su root' failed for lonvick on /dev/pts/8"},
		{"rfc3164 single-digit day", "<13>Jun  3 08:00:01 web1 app[12]: hi",
			map[string]string{"Facility": "1", "Severity": "5", "priority": "13", "timestamp": ms(time.Date(2026, 6, 3, 8, 0, 1, 0, time.UTC)), "host": "web1"}, "app[12]: hi"},
		{"rfc3164 apache log with nulls", "<10>Jun 14 11:11:11 " + host + " - hyphen_null_breaks_5424_pattern [07/Jun/2012:14:46:44 -0600]",
			map[string]string{"Facility": "1", "Severity": "2", "priority": "10", "timestamp": ms(time.Date(2026, 6, 14, 11, 11, 11, 0, time.UTC)), "host": host},
			"- hyphen_null_breaks_5424_pattern [07/Jun/2012:14:46:44 -0600]"},
		{"no rfc header: whole text", "<10>Good good good data",
			map[string]string{"Facility": "1", "Severity": "2"}, "<10>Good good good data"},
		{"bad month: no timestamp", "<10>Foo 14 11:11:11 h m",
			map[string]string{"Facility": "1", "Severity": "2", "priority": "10", "host": "h"}, "m"},
		{"empty body: whole text", "<10>1 - h ",
			map[string]string{"Facility": "1", "Severity": "2", "priority": "10", "version": "1", "host": "h"}, "<10>1 - h "},
		{"priority not numeric", "<10F> bad bad data",
			map[string]string{"Facility": "0", "Severity": "0", "flume.syslog.status": "Invalid"}, "<10F> bad bad data"},
		{"no <", "hi guys! <10> bad bad data",
			map[string]string{"Facility": "0", "Severity": "0", "flume.syslog.status": "Invalid"}, "hi guys! <10> bad bad data"},
		{"empty priority", "<> bad bad data",
			map[string]string{"Facility": "0", "Severity": "0", "flume.syslog.status": "Invalid"}, "<> bad bad data"},
		{"priority too long", "<123123123123123123123123123123> bad bad data",
			map[string]string{"Facility": "0", "Severity": "0", "flume.syslog.status": "Invalid"}, "<123123123123123123123123123123> bad bad data"},
		{"empty", "", map[string]string{"Facility": "0", "Severity": "0", "flume.syslog.status": "Invalid"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, body := parser(StyleUtils, "none", now).Parse([]byte(c.msg), false)
			if !maps.Equal(h, c.want) {
				t.Errorf("headers\n got %v\nwant %v", h, c.want)
			}
			if string(body) != c.body {
				t.Errorf("body %q, want %q", body, c.body)
			}
		})
	}
}

// Flume's testKeepFields, plus the nil stamp and host written as "-".
func TestParseKeepFields(t *testing.T) {
	msg := "<10>1 2012-04-13T11:11:11+08:00 ubuntu-11.cloudera.com some msg"
	for keep, want := range map[string]string{
		"none":                                "some msg",
		"false":                               "some msg",
		"hostname":                            "ubuntu-11.cloudera.com some msg",
		"timestamp hostname":                  "2012-04-13T11:11:11+08:00 ubuntu-11.cloudera.com some msg",
		"priority timestamp hostname":         "<10>2012-04-13T11:11:11+08:00 ubuntu-11.cloudera.com some msg",
		"priority version timestamp hostname": msg,
		"priority,version,timestamp,hostname": msg,
		"all":                                 msg,
		"TRUE":                                msg,
	} {
		_, body := parser(StyleUtils, keep, now).Parse([]byte(msg), false)
		if string(body) != want {
			t.Errorf("keepFields %q: body %q, want %q", keep, body, want)
		}
	}
	_, body := parser(StyleUtils, "timestamp hostname", now).Parse([]byte("<10>1 - - m"), false)
	if string(body) != "- - m" {
		t.Errorf("nil stamp and host kept as %q, want %q", body, "- - m")
	}
	if bad := CheckKeep("priority, hostnme"); len(bad) != 1 || bad[0] != "hostnme" {
		t.Errorf("CheckKeep = %q", bad)
	}
}

// multiport_syslogtcp's header names (Flume's SyslogParser): Priority and
// Version, the receipt time for a nil stamp, and no Facility/Severity on an
// Invalid message.
func TestParseMultiportStyle(t *testing.T) {
	p := parser(StyleMultiport, "none", now)
	h, body := p.Parse([]byte("<34>1 - host1 app - - hello"), false)
	want := map[string]string{"Priority": "34", "Version": "1", "Facility": "4", "Severity": "2", "timestamp": ms(now), "host": "host1"}
	if !maps.Equal(h, want) || string(body) != "app - - hello" {
		t.Errorf("got %v %q, want %v", h, body, want)
	}
	h, body = p.Parse([]byte("no priority"), false)
	if !maps.Equal(h, map[string]string{"flume.syslog.status": "Invalid"}) || string(body) != "no priority" {
		t.Errorf("invalid: got %v %q", h, body)
	}
}

func TestParseIncomplete(t *testing.T) {
	h, _ := parser(StyleUtils, "none", now).Parse([]byte("<10> bad b"), true)
	if h["flume.syslog.status"] != "Incomplete" || h["Facility"] != "1" || h["Severity"] != "2" {
		t.Errorf("got %v", h)
	}
}

// Flume's TestRfc3164Dates: with the clock anywhere in a year, a stamp from
// ten months ago up to (almost) a month ahead gets the right year.
func TestRFC3164Year(t *testing.T) {
	for monthOffset := 0; monthOffset <= 13; monthOffset++ {
		clock := time.Date(2026, 1, 20, 12, 0, 0, 0, time.UTC).AddDate(0, monthOffset, 0)
		p := parser(StyleUtils, "none", clock)
		for i := -10; i <= 1; i++ {
			when := clock.AddDate(0, i, 0)
			if i == 1 {
				when = when.AddDate(0, 0, -1)
			}
			msg := "<10>" + when.Format("Jan _2 15:04:05") + " host msg"
			h, _ := p.Parse([]byte(msg), false)
			if h["timestamp"] != ms(when) {
				t.Errorf("clock %s, %q: timestamp %s, want %s (%s)", clock.Format(time.DateOnly), msg, h["timestamp"], ms(when), when)
			}
		}
	}
}

// RFC 3164 and 5424 stamps without an offset are read in Loc.
func TestParseZone(t *testing.T) {
	// A fixed zone: the test needs a non-UTC location, not a tz database.
	ny := time.FixedZone("UTC-4", -4*3600)
	p := &Parser{Loc: ny, Now: func() time.Time { return now }}
	h, _ := p.Parse([]byte("<10>1 2012-04-13T11:11:11 h m"), false)
	if want := ms(time.Date(2012, 4, 13, 11, 11, 11, 0, ny)); h["timestamp"] != want {
		t.Errorf("5424 without offset: %s, want %s", h["timestamp"], want)
	}
	h, _ = p.Parse([]byte("<10>Jun 14 11:11:11 h m"), false)
	if want := ms(time.Date(2026, 6, 14, 11, 11, 11, 0, ny)); h["timestamp"] != want {
		t.Errorf("3164: %s, want %s", h["timestamp"], want)
	}
}

func TestFramer(t *testing.T) {
	type msg struct {
		s   string
		cut bool
	}
	run := func(max int, stream string, chunk int) []msg {
		f := &Framer{Max: max}
		var out []msg
		var buf []byte
		in := []byte(stream)
		for {
			eof := len(in) == 0
			n, m, cut := f.Next(buf, eof)
			if n == 0 {
				if eof {
					return out
				}
				k := min(chunk, len(in))
				buf = append(buf, in[:k]...)
				in = in[k:]
				continue
			}
			if m != nil {
				out = append(out, msg{string(m), cut})
			}
			buf = buf[n:]
		}
	}
	cases := []struct {
		name   string
		max    int
		stream string
		want   []msg
	}{
		{"lines", 100, "<1>a\n<2>b\r\n\n\n<3>c", []msg{{"<1>a", false}, {"<2>b", false}, {"<3>c", false}}},
		{"octet counted", 100, "4 <1>a5 <2>bc\n3 <3>", []msg{{"<1>a", false}, {"<2>bc", false}, {"<3>", false}}},
		{"octet counted with trailing LF inside", 100, "5 <1>a\n4 <2>b", []msg{{"<1>a", false}, {"<2>b", false}}},
		{"line cut at max, rest read on", 10, "<10> bad bad data bad bad\n", []msg{{"<10> bad b", true}, {"ad data ba", true}, {"d bad", false}}},
		{"exactly max is whole", 10, "<10>123456\n", []msg{{"<10>123456", false}}},
		{"octet counted cut", 4, "10 <1>abcdefg<2>x\n", []msg{{"<1>a", true}, {"bcde", true}, {"fg", false}, {"<2>x", false}}},
		{"rest of a cut line is never an octet count", 10, "<10> bad b12 <13>xyz\n<1>a\n", []msg{{"<10> bad b", true}, {"12 <13>xyz", false}, {"<1>a", false}}},
		{"cut exactly before the newline", 10, "<10>1234567\n<1>a\n", []msg{{"<10>123456", true}, {"7", false}, {"<1>a", false}}},
		{"exactly max before CRLF is whole", 10, "<10>123456\r\n<1>a\n", []msg{{"<10>123456", false}, {"<1>a", false}}},
		{"max and a CR without LF is cut", 10, "<10>123456\rx\n", []msg{{"<10>123456", true}, {"\rx", false}}},
		{"digits without space are a line", 100, "1234567890123 x\n", []msg{{"1234567890123 x", false}}},
		{"short octet frame at EOF", 100, "50 <1>abc", []msg{{"<1>abc", true}}},
	}
	for _, c := range cases {
		for _, chunk := range []int{1, 3, 1 << 20} {
			got := run(c.max, c.stream, chunk)
			if len(got) != len(c.want) {
				t.Errorf("%s (chunks of %d): got %+v, want %+v", c.name, chunk, got, c.want)
				continue
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("%s (chunks of %d): got %+v, want %+v", c.name, chunk, got, c.want)
					break
				}
			}
		}
	}
}

// FuzzSyslogParse feeds arbitrary bytes through the framer and the parser
// in both styles: nothing panics, the framer always moves on, and no
// message is longer than the limit.
func FuzzSyslogParse(f *testing.F) {
	for _, s := range []string{
		"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - msg\n",
		"<13>Jun  3 08:00:01 web1 app[12]: hi\n",
		"12 <13>1 - - - x\n",
		"<10F> bad\n",
		"<10>2014-10-03T17:20:01.123456-07:00 h m",
		"<999>Dec 31 23:59:60 h m",
		"<1>1 9999-99-99T99:99:99.9+99:99 h m",
	} {
		f.Add([]byte(s), 16)
	}
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 1 || max > 1<<16 {
			max = 10
		}
		fr := &Framer{Max: max}
		ps := []*Parser{
			{Keep: ParseKeep("all"), Loc: time.UTC},
			{Style: StyleMultiport, Keep: ParseKeep("priority version timestamp hostname"), Loc: time.UTC},
		}
		rest := data
		for steps := 0; len(rest) > 0; steps++ {
			if steps > len(data)+1 {
				t.Fatalf("framer does not advance on %q", data)
			}
			n, m, cut := fr.Next(rest, true)
			if n <= 0 || n > len(rest) {
				t.Fatalf("framer used %d of %d bytes at EOF", n, len(rest))
			}
			if len(m) > max {
				t.Fatalf("message of %d bytes over the limit %d", len(m), max)
			}
			rest = rest[n:]
			for _, p := range ps {
				p.Parse(m, cut)
			}
		}
		for _, p := range ps {
			p.Parse(data, false)
		}
	})
}
