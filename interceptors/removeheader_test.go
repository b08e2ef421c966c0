package interceptors

import (
	"github.com/sluiceio/sluice/internal/javaregex"
	"strings"
	"testing"

	"github.com/sluiceio/sluice"
)

// The cases follow Flume's RemoveHeaderInterceptorTest.
func TestRemoveHeader(t *testing.T) {
	all := func() *sluice.Event {
		return ev("My test event", "my-header10", "1", "my-header11", "2", "my-header12", "3",
			"my-header20", "4", "my-header21", "5")
	}
	cases := []struct {
		name string
		kv   []string
		want string
	}{
		{"nothing configured", nil, "my-header10=1 my-header11=2 my-header12=3 my-header20=4 my-header21=5"},
		{"withName", []string{"withName", "my-header20"}, "my-header10=1 my-header11=2 my-header12=3 my-header21=5"},
		{"fromList, default separator", []string{"fromList", "my-header20, my-header11"}, "my-header10=1 my-header12=3 my-header21=5"},
		{"fromList, default separator, spaces", []string{"fromList", "my-header20 ,my-header11"}, "my-header10=1 my-header12=3 my-header21=5"},
		{"fromList, wrong separator", []string{"fromList", "my-header20;my-header11"}, "my-header10=1 my-header11=2 my-header12=3 my-header20=4 my-header21=5"},
		{"fromList, custom separator", []string{"fromList", "my-header20;my-header11", "fromListSeparator", ";"}, "my-header10=1 my-header12=3 my-header21=5"},
		{"fromList, custom separator not used", []string{"fromList", "my-header20, my-header11", "fromListSeparator", ";"}, "my-header10=1 my-header11=2 my-header12=3 my-header20=4 my-header21=5"},
		{"matching", []string{"matching", "my-header1.*"}, "my-header20=4 my-header21=5"},
		{"matching is a whole-name match", []string{"matching", "header1"}, "my-header10=1 my-header11=2 my-header12=3 my-header20=4 my-header21=5"},
		{"matching alternation", []string{"matching", "my-header1|my-header2[01]"}, "my-header10=1 my-header11=2 my-header12=3"},
		{"all three", []string{"matching", "my-header2.*", "fromList", "my-header10;my-header12", "fromListSeparator", ";", "withName", "my-header11"}, ""},
	}
	for _, c := range cases {
		i := build(t, "remove_header", c.kv...)
		e := all()
		i.Intercept([]*sluice.Event{e})
		if got := headersString(e.Headers); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
		// An event without headers is left alone.
		empty := &sluice.Event{Body: []byte("x")}
		i.Intercept([]*sluice.Event{empty})
		if len(empty.Headers) != 0 {
			t.Errorf("%s: headers appeared: %v", c.name, empty.Headers)
		}
	}
}

func TestRemoveHeaderConfigErrors(t *testing.T) {
	// Flume's testBadConfig: "(" as the separator.
	msg := configErr(t, "org.apache.flume.interceptor.RemoveHeaderInterceptor$Builder",
		"fromList", "a(b", "fromListSeparator", "(")
	if !strings.Contains(msg, "fromListSeparator") || !strings.Contains(msg, "missing closing )") {
		t.Errorf("got %q", msg)
	}
	msg = configErr(t, "remove_header", "matching", "(?!tmp).*")
	if !strings.Contains(msg, "matching") || !strings.Contains(msg, "negative lookahead") {
		t.Errorf("got %q", msg)
	}
	// Both problems are reported at once.
	msg = configErr(t, "remove_header", "fromList", "a", "fromListSeparator", "[", "matching", "a\\1")
	if !strings.Contains(msg, "fromListSeparator") || !strings.Contains(msg, "backreference") {
		t.Errorf("got %q", msg)
	}
}

func TestJavaSplitDropsTrailingEmpties(t *testing.T) {
	re, _ := javaregex.Compile("fromListSeparator", `\s*,\s*`)
	got := javaSplit(re, "a, b,,c , ,")
	if strings.Join(got, "|") != "a|b||c" {
		t.Fatalf("got %q", got)
	}
}
