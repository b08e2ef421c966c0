package hdfs

import (
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
)

// More header values that must stay one path level inside hdfs.path (and
// one file name in hdfs.filePrefix): a value that looks like an escape is
// not expanded again, other control characters go too, and values that
// only together with the template's text make "." or ".." cannot climb.
func TestHeaderValuesStayInsideThePath(t *testing.T) {
	o := &timeOpts{loc: time.UTC}
	for _, tc := range []struct {
		tmpl    string
		headers map[string]string
		want    string
	}{
		{"/base/%{h}/f", map[string]string{"h": "%{other}", "other": "../x"}, "/base/%{other}/f"},
		{"/base/%{h}/f", map[string]string{"h": "a\tb\rc\x7fd"}, "/base/a_b_c_d/f"},
		{"/base/%{h}/f", map[string]string{"h": "..\\..\\etc"}, "/base/.._.._etc/f"},
		{"/base/%{h}/f", map[string]string{"h": "a/../../b"}, "/base/a_.._.._b/f"},
		{"/base/%{h}/f", map[string]string{"h": "\u2215etc"}, "/base/\u2215etc/f"}, // not a separator
		{"/base/%{a}.%{b}/f", map[string]string{"a": "", "b": ""}, "/base/_/f"},
		{"/base/%{a}.%{b}/f", map[string]string{"a": ".", "b": ""}, "/base/_./f"},
		{"/base/x%{a}/f", map[string]string{"a": "/.."}, "/base/x_../f"},
	} {
		e := &sluice.Event{Headers: tc.headers}
		got, err := expandT(t, tc.tmpl, e, o, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		c := cleanDir(tc.tmpl, got)
		if c != tc.want {
			t.Errorf("%s with %q: %q, want %q", tc.tmpl, tc.headers, c, tc.want)
		}
		if !strings.HasPrefix(c, "/base/") || strings.Count(c, "/") != 3 {
			t.Errorf("%s with %q: %q is not one level inside /base", tc.tmpl, tc.headers, c)
		}
	}
	// A file name from a header is one name, never a path.
	for v, want := range map[string]string{"..": "__", "../../x": ".._.._x", "a\nb": "a_b"} {
		got, _ := expandT(t, "ev-%{h}", &sluice.Event{Headers: map[string]string{"h": v}}, o, time.Now())
		if got != "ev-"+want {
			t.Errorf("file prefix with %q: %q, want %q", v, got, "ev-"+want)
		}
	}
}
