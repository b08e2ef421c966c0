package jodatime

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the expectations below need America/Los_Angeles and Europe/Paris
)

// The expected values were produced by Joda-Time 2.9.9 (Flume 1.11's
// version): DateTimeFormat.forPattern(pattern).parseDateTime(input).getMillis()
// with -Duser.timezone=America/Los_Angeles, in 2026 (two-digit years pivot
// on the current year). errJoda marks an exception.
const errJoda = -1

func TestJodaParseMatchesJoda(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		pattern, input string
		want           int64
	}{
		{"yyyy-MM-dd HH:mm", "2012-10-18 18:47", 1350611220000},
		{"yyyy-MM-dd HH:mm:ss,SSS", "2012-10-17 14:34:44,338", 1350509684338},
		{"yyyy-MM-dd HH:mm:ss.S", "2012-10-17 14:34:44.5", 1350509684500},
		{"yyyy-MM-dd HH:mm:ss.SSS", "2012-10-17 14:34:44.5", 1350509684500},
		{"yyyy-MM-dd HH:mm:ss.SSS", "2012-10-17 14:34:44.123456", -1},
		{"yyyy-MM-dd HH:mm:ss.SSSSSS", "2012-10-17 14:34:44.123456", 1350509684123},
		{"yyyy-MM-dd HH:mm:ssSSS", "2012-10-17 14:34:44123", 1350509684123},
		{"yyyy-MM-dd'T'HH:mm:ssZ", "2012-10-17T14:34:44+0200", 1350477284000},
		{"yyyy-MM-dd'T'HH:mm:ssZ", "2012-10-17T14:34:44+02:00", 1350477284000},
		{"yyyy-MM-dd'T'HH:mm:ssZZ", "2012-10-17T14:34:44-05:30", 1350504284000},
		{"yyyy-MM-dd'T'HH:mm:ssZZ", "2012-10-17T14:34:44Z", 1350484484000},
		{"yyyy-MM-dd'T'HH:mm:ssZZ", "2012-10-17T14:34:44+0530", 1350464684000},
		{"yyyy-MM-dd'T'HH:mm:ss.SSSZZ", "2012-10-17T14:34:44.123+01:00", 1350480884123},
		{"yyyy-MM-dd HH:mm:ss Z", "2012-10-17 14:34:44 -07", 1350509684000},
		{"yyyy-MM-dd HH:mm:ss Z", "2012-10-17 14:34:44 +05:30:15", 1350464669000},
		{"yyyy-MM-dd HH:mm:ss ZZZ", "2012-10-17 14:34:44 Europe/Paris", 1350477284000},
		{"yyyy-MM-dd HH:mm:ss ZZZ", "2012-10-17 14:34:44 UTC", 1350484484000},
		{"yyyyMMddHHmmss", "20121017143444", 1350509684000},
		{"yyMMdd", "121017", 1350457200000},
		{"yy-MM-dd", "12-10-17", 1350457200000},
		{"yy-MM-dd", "2012-10-17", 1350457200000},
		{"yy-MM-dd", "95-10-17", 813913200000},
		{"yy-MM-dd", "45-10-17", 2391836400000},
		{"yy-MM-dd", "46-10-17", -732384000000},
		{"yy-MM-dd", "5-10-17", -61984368422000},
		{"YYYY-MM-dd", "2012-10-18", 1350543600000},
		{"YY-MM-dd", "12-10-18", 1350543600000},
		{"yyyy-MM-dd", "+2012-10-18", 1350543600000},
		{"yyyy-MM-dd", "-0044-03-15", -63549331622000},
		{"yyyyy-MM-dd", "02012-10-18", 1350543600000},
		{"dd/MMM/yyyy:HH:mm:ss Z", "18/Oct/2012:18:47:57 -0700", 1350611277000},
		{"dd/MMM/yyyy:HH:mm:ss Z", "18/october/2012:18:47:57 -0700", 1350611277000},
		{"dd/MMM/yyyy:HH:mm:ss Z", "18/10/2012:18:47:57 -0700", -1},
		{"MMM dd HH:mm:ss", "Oct 18 18:47:57", 971920077000},
		{"MMM  d HH:mm:ss", "Feb  5 17:32:18", 949800738000},
		{"MMM d HH:mm:ss", "Feb 29 17:32:18", 951874338000},
		{"MMM dd", "Sept 18", -1},
		{"MMM dd", "SEP 18", 969260400000},
		{"MMMM dd yyyy", "May 18 2012", 1337324400000},
		{"MMM dd yyyy", "May 18 2012", 1337324400000},
		{"EEE MMM dd HH:mm:ss yyyy", "Thu Oct 18 18:47:57 2012", 1350611277000},
		{"EEE MMM dd HH:mm:ss yyyy", "Mon Oct 18 18:47:57 2012", 1350352077000},
		{"EEEE, dd MMMM yyyy", "Thursday, 18 October 2012", 1350543600000},
		{"e yyyy-MM-dd", "1 2012-10-18", 1350284400000},
		{"h:mm a", "3:05 PM", 83100000},
		{"h:mm a", "12:05 am", 29100000},
		{"h:mm a", "12:05 PM", 72300000},
		{"K:mm a", "0:05 PM", 72300000},
		{"HH a", "03 PM", 39600000},
		{"hh:mm", "03:15", 40500000},
		{"hh:mm", "12:15", 29700000},
		{"kk:mm", "24:00", 28800000},
		{"HH:mm", "09:30", 63000000},
		{"HHmm", "0930", 63000000},
		{"H:m:s", "9:3:7", 61387000},
		{"HH:mm", "24:00", -1},
		{"ss", "61", -1},
		{"mm", "60", -1},
		{"D", "45", 950515200000},
		{"dd", "31", 949305600000},
		{"yyyy-MM-dd", "2012-02-30", -1},
		{"yyyy-MM-dd", "2012-13-01", -1},
		{"yyyy-MM-dd", "2012-1-5", 1325750400000},
		{"yyyy-D", "2012-366", 1356940800000},
		{"yyyy-D", "2011-366", -1},
		{"yyyy-MM-dd HH:mm", "2012-10-18 18:47 trailing", -1},
		{"'at' HH 'o''clock'", "at 09 o'clock", 61200000},
		{"yyyy-MM-dd'T'HH", "2012-10-18t18", 1350608400000},
		{"dd.MM.yyyy", "18.10.2012", 1350543600000},
		{"yyyy-MM-dd HH:mm", "2012-03-11 02:30", -1},
		{"yyyy-MM-dd HH:mm", "2012-11-04 01:30", 1352017800000},
		{"yyyy-MM-dd HH:mm", "2012-11-04 00:30", 1352014200000},
		{"yyyy-MM-dd HH:mm", "2012-11-04 02:30", 1352025000000},
	}
	for _, c := range cases {
		l, err := Compile(c.pattern, la, now)
		if err != nil {
			t.Errorf("compile %q: %v", c.pattern, err)
			continue
		}
		got, err := l.Parse(c.input)
		switch {
		case c.want == errJoda && err == nil:
			t.Errorf("%q on %q: got %d (%s), want an error", c.pattern, c.input, got.UnixMilli(), got)
		case c.want != errJoda && err != nil:
			t.Errorf("%q on %q: %v, want %d", c.pattern, c.input, err, c.want)
		case c.want != errJoda && got.UnixMilli() != c.want:
			t.Errorf("%q on %q: got %d (%s), want %d (%s)", c.pattern, c.input, got.UnixMilli(), got,
				c.want, time.UnixMilli(c.want).In(la))
		}
	}
}

func TestJodaPatternErrors(t *testing.T) {
	cases := []struct{ pattern, want string }{
		{"", "empty"},
		{"ABCDEFG", `"A", which is not a Joda-Time pattern letter`}, // Flume's own test pattern
		{"yyyy-MM-dd HH:mm:ss z", "time zone name"},
		{"yyyy.MM.dd G", `"G" (era)`},
		{"xxxx-'W'ww", `"x" (week year)`},
		{"yyyy-MM-dd'T", "unterminated quote"},
		{"yyyy-MM-dd HH:mm:ssX", `"X"`}, // SimpleDateFormat's ISO offset is not Joda
	}
	for _, c := range cases {
		_, err := Compile(c.pattern, time.UTC, time.Now())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want an error containing %q", c.pattern, err, c.want)
		}
	}
}

func TestJodaParseErrorSaysWhere(t *testing.T) {
	l, err := Compile("yyyy-MM-dd HH:mm", time.UTC, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Parse("2012-10-18T18:47")
	if err == nil || !strings.Contains(err.Error(), `expected " " at offset 10`) {
		t.Fatalf("got %v", err)
	}
	_, err = l.Parse("2012-02-30 18:47")
	if err == nil || !strings.Contains(err.Error(), "day of month 30 is not in [1, 29]") {
		t.Fatalf("got %v", err)
	}
}
