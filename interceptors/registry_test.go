package interceptors

import (
	"strings"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

// Flume's type names: the InterceptorType aliases and the Builder classes.
var flumeTypes = map[string][]string{
	"timestamp":       {"org.apache.flume.interceptor.TimestampInterceptor$Builder", "TIMESTAMP"},
	"host":            {"org.apache.flume.interceptor.HostInterceptor$Builder", "HOST"},
	"static":          {"org.apache.flume.interceptor.StaticInterceptor$Builder"},
	"remove_header":   {"org.apache.flume.interceptor.RemoveHeaderInterceptor$Builder", "REMOVE_HEADER"},
	"uuid":            {"org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder"},
	"regex_filter":    {"org.apache.flume.interceptor.RegexFilteringInterceptor$Builder"},
	"regex_extractor": {"org.apache.flume.interceptor.RegexExtractorInterceptor$Builder"},
	"search_replace":  {"org.apache.flume.interceptor.SearchAndReplaceInterceptor$Builder"},
}

func TestRegisteredNames(t *testing.T) {
	if err := sluice.RegistryErr(); err != nil {
		t.Fatal(err)
	}
	for name, aliases := range flumeTypes {
		for _, n := range append([]string{name}, aliases...) {
			s, ok := sluice.Lookup(sluice.KindInterceptor, n)
			if !ok || s.Name != name {
				t.Errorf("%q does not resolve to %q", n, name)
			}
		}
	}
}

// Flume's documented defaults, property by property.
func TestDefaultsAreFlumes(t *testing.T) {
	want := map[string]map[string]string{
		"timestamp":       {"headerName": "timestamp", "preserveExisting": "false"},
		"host":            {"hostHeader": "host", "useIP": "true", "preserveExisting": "false"},
		"static":          {"key": "key", "value": "value", "preserveExisting": "true"},
		"remove_header":   {"withName": "", "fromList": "", "fromListSeparator": `\s*,\s*`, "matching": ""},
		"uuid":            {"headerName": "id", "preserveExisting": "true", "prefix": ""},
		"regex_filter":    {"regex": ".*", "excludeEvents": "false"},
		"regex_extractor": {"regex": "", "serializers": "", "serializers.": ""},
		"search_replace":  {"searchPattern": "", "replaceString": "", "charset": "UTF-8"},
	}
	for name, props := range want {
		s, _ := sluice.Lookup(sluice.KindInterceptor, name)
		fields := conf.Fields(s.Config())
		got := map[string]string{}
		for _, f := range fields {
			got[f.Key] = f.Default
			if f.Doc == "" {
				t.Errorf("%s.%s has no doc", name, f.Key)
			}
		}
		if len(got) != len(props) {
			t.Errorf("%s: properties %v, want %v", name, got, props)
		}
		for k, v := range props {
			if d, ok := got[k]; !ok || d != v {
				t.Errorf("%s.%s: default %q (present %v), want %q", name, k, d, ok, v)
			}
		}
	}
}

// Every spec's example is a working configuration.
func TestExamplesBuild(t *testing.T) {
	for _, s := range sluice.Specs() {
		if s.Kind != sluice.KindInterceptor || flumeTypes[s.Name] == nil {
			continue
		}
		if s.Doc == "" || s.Notes == "" || s.Example == "" {
			t.Errorf("%s: Doc, Notes and Example are required", s.Name)
		}
		var props []conf.Prop
		typ := ""
		for n, line := range strings.Split(strings.TrimSpace(s.Example), "\n") {
			k, v, _ := strings.Cut(line, "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			v = strings.ReplaceAll(v, `\\`, `\`) // properties-file escaping
			rel, ok := strings.CutPrefix(k, "a1.sources.r1.interceptors.i1.")
			switch {
			case !ok:
				continue
			case rel == "type":
				typ = v
			default:
				props = append(props, conf.Prop{Key: rel, FullKey: k, Value: v, File: "example", Line: n + 1})
			}
		}
		if got, ok := sluice.Lookup(sluice.KindInterceptor, typ); !ok || got.Name != s.Name {
			t.Errorf("%s: example type %q does not resolve to it", s.Name, typ)
			continue
		}
		cfg := s.Config()
		if errs := conf.Decode(cfg, props); len(errs) > 0 {
			t.Errorf("%s: example: %v", s.Name, errs)
			continue
		}
		v, err := s.New(sluicetest.Env("i1"), cfg)
		if err != nil {
			t.Errorf("%s: example: %v", s.Name, err)
			continue
		}
		if _, ok := v.(sluice.Interceptor); !ok {
			t.Errorf("%s: %T is not an interceptor", s.Name, v)
		}
	}
}
