package hdfs

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

func expandT(t *testing.T, tmpl string, e *sluice.Event, o *timeOpts, now time.Time) (string, error) {
	t.Helper()
	tp, err := compileTemplate(tmpl)
	if err != nil {
		t.Fatalf("compile %q: %v", tmpl, err)
	}
	var b strings.Builder
	err = tp.expand(e, o, now, &b)
	return b.String(), err
}

func TestEscapes(t *testing.T) {
	// 2024-03-05 07:08:09.123 UTC, a Tuesday, day 65 of the year.
	ts := time.Date(2024, 3, 5, 7, 8, 9, 123e6, time.UTC).UnixMilli()
	e := &sluice.Event{Headers: map[string]string{"timestamp": itoa(ts), "host": "web1", "a.b-c": "x"}}
	o := &timeOpts{loc: time.UTC}
	cases := map[string]string{
		"%Y-%m-%d %H:%M:%S":      "2024-03-05 07:08:09",
		"%y %b %B %a %A":         "24 Mar March Tue Tuesday",
		"%j %k %l %I %p %e %n":   "065 7 7 07 AM 5 3",
		"%s %t":                  "1709622489 " + itoa(ts),
		"%z":                     "+0000",
		"%D":                     "03/05/24",
		"%c":                     "Tue Mar 5 07:08:09 2024",
		"%{host}/%{a.b-c}/%{no}": "web1/x/",
		"100%%":                  "100%",
		"%q|%{bad|%[|%":          "|%{bad|%[|%", // unknown letter: empty, as in Flume
	}
	for in, want := range cases {
		got, err := expandT(t, in, e, o, time.Now())
		if err != nil || got != want {
			t.Errorf("expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	la, _ := loadZone("America/Los_Angeles")
	if got, _ := expandT(t, "%H %z", e, &timeOpts{loc: la}, time.Now()); got != "23 -0800" {
		t.Errorf("in Los Angeles: %q", got)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestEscapeRoundingAndLocalTime(t *testing.T) {
	ts := time.Date(2024, 3, 5, 7, 38, 49, 0, time.UTC).UnixMilli()
	e := &sluice.Event{Headers: map[string]string{"timestamp": itoa(ts)}}
	for _, c := range []struct {
		unit time.Duration
		n    int
		want string
	}{{time.Second, 15, "07:38:45"}, {time.Minute, 10, "07:30:00"}, {time.Hour, 6, "06:00:00"}} {
		got, _ := expandT(t, "%H:%M:%S", e, &timeOpts{loc: time.UTC, round: c.unit, roundVal: c.n}, time.Now())
		if got != c.want {
			t.Errorf("round %v x%d = %q, want %q", c.unit, c.n, got, c.want)
		}
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	got, err := expandT(t, "%Y%m%d%H", &sluice.Event{}, &timeOpts{loc: time.UTC, local: true}, now)
	if err != nil || got != "2030010203" {
		t.Errorf("useLocalTimeStamp: %q %v", got, err)
	}
}

func TestEscapeNeedsTimestamp(t *testing.T) {
	_, err := expandT(t, "/logs/%Y", &sluice.Event{}, &timeOpts{loc: time.UTC}, time.Now())
	if err == nil || !strings.Contains(err.Error(), "timestamp header") || !strings.Contains(err.Error(), "useLocalTimeStamp") {
		t.Fatalf("missing timestamp: %v", err)
	}
	_, err = expandT(t, "/logs/%Y", &sluice.Event{Headers: map[string]string{"timestamp": "yesterday"}}, &timeOpts{loc: time.UTC}, time.Now())
	if err == nil || !strings.Contains(err.Error(), `"yesterday"`) {
		t.Fatalf("bad timestamp: %v", err)
	}
	// Header-only paths need no timestamp.
	if got, err := expandT(t, "/logs/%{h}", &sluice.Event{Headers: map[string]string{"h": "v"}}, &timeOpts{loc: time.UTC}, time.Now()); err != nil || got != "/logs/v" {
		t.Fatalf("header path: %q %v", got, err)
	}
	if _, err := compileTemplate("/x/%[nothost]"); err == nil {
		t.Fatal("unknown static escape accepted")
	}
}

// A header value cannot climb out of hdfs.path or add levels to it.
func TestHeaderValuesAreSanitised(t *testing.T) {
	o := &timeOpts{loc: time.UTC}
	for v, want := range map[string]string{
		"..":          "/base/__/f",
		".":           "/base/_/f",
		"../../etc":   "/base/.._.._etc/f",
		"/etc/passwd": "/base/_etc_passwd/f",
		"a\x00b\nc":   "/base/a_b_c/f",
		"ok.name":     "/base/ok.name/f",
		"":            "/base/f",
	} {
		e := &sluice.Event{Headers: map[string]string{"h": v}}
		got, _ := expandT(t, "/base/%{h}/f", e, o, time.Now())
		if c := cleanDir("/base/%{h}/f", got); c != want {
			t.Errorf("header %q: path %q, want %q", v, c, want)
		}
	}
	// Two values that only together make "..".
	e := &sluice.Event{Headers: map[string]string{"a": ".", "b": "."}}
	got, _ := expandT(t, "/base/%{a}%{b}/f", e, o, time.Now())
	if c := cleanDir("/base/%{a}%{b}/f", got); c != "/base/__/f" {
		t.Errorf("split dots: %q", c)
	}
}

func TestVLong(t *testing.T) {
	for v, want := range map[int64][]byte{
		0: {0}, 127: {0x7f}, -112: {0x90}, 128: {0x8f, 0x80}, 256: {0x8e, 1, 0},
		-113: {0x87, 0x70}, 1 << 40: {0x8a, 1, 0, 0, 0, 0, 0},
	} {
		if got := appendVLong(nil, v); !bytes.Equal(got, want) {
			t.Errorf("vlong(%d) = % x, want % x", v, got, want)
		}
	}
}

// The header and record layout of an uncompressed SequenceFile.
func TestSequenceFileLayout(t *testing.T) {
	var buf bytes.Buffer
	s := newSeqWriter(&buf, false, false, time.Now)
	if err := s.header(); err != nil {
		t.Fatal(err)
	}
	hdr := append([]byte("SEQ\x06"), 33)
	hdr = append(hdr, classLongWritable...)
	hdr = append(hdr, 34)
	hdr = append(hdr, classBytesWritable...)
	hdr = append(hdr, 0, 0, 0, 0, 0, 0)
	hdr = append(hdr, s.sync[:]...)
	if !bytes.Equal(buf.Bytes(), hdr) {
		t.Fatalf("header\n% x\nwant\n% x", buf.Bytes(), hdr)
	}
	if err := s.append(&sluice.Event{Headers: map[string]string{"timestamp": "42"}, Body: []byte("ab")}); err != nil {
		t.Fatal(err)
	}
	if err := s.flush(); err != nil {
		t.Fatal(err)
	}
	rec := buf.Bytes()[len(hdr):]
	want := []byte{0, 0, 0, 14, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 2, 'a', 'b', 0xff, 0xff, 0xff, 0xff}
	want = append(want, s.sync[:]...)
	if !bytes.Equal(rec, want) {
		t.Fatalf("record\n% x\nwant\n% x", rec, want)
	}
	// A second flush with nothing new writes no second marker.
	n := buf.Len()
	_ = s.flush()
	if buf.Len() != n {
		t.Fatal("empty flush wrote a sync marker")
	}
	if got := binary.BigEndian.Uint32(rec); got != 14 {
		t.Fatal(got)
	}
}

func TestCodecLookup(t *testing.T) {
	for _, n := range []string{"gzip", "GzipCodec", "org.apache.hadoop.io.compress.GzipCodec", "GZIP"} {
		c, err := lookupCodec(n)
		if err != nil || c.ext != ".gz" {
			t.Errorf("%s: %v %v", n, c, err)
		}
	}
	for _, n := range []string{"bzip2", "zstd", "lzo"} {
		if _, err := lookupCodec(n); err == nil {
			t.Errorf("%s accepted", n)
		}
	}
}

func decodeT(t testing.TB, kv ...string) (*Config, error) {
	t.Helper()
	sp, ok := sluice.Lookup(sluice.KindSink, "org.apache.flume.sink.hdfs.HDFSEventSink")
	if !ok {
		t.Fatal("hdfs sink not registered under Flume's class name")
	}
	cfg := sp.Config().(*Config)
	var props []conf.Prop
	for i := 0; i+1 < len(kv); i += 2 {
		props = append(props, conf.Prop{Key: kv[i], FullKey: "a1.sinks.k1." + kv[i], Value: kv[i+1]})
	}
	var errs []string
	for _, e := range conf.Decode(cfg, props) {
		if !e.Warning {
			errs = append(errs, e.Error())
		}
	}
	if len(errs) > 0 {
		return nil, &confErr{strings.Join(errs, "; ")}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

type confErr struct{ s string }

func (c *confErr) Error() string { return c.s }

func TestConfig(t *testing.T) {
	cfg, err := decodeT(t, "hdfs.path", "hdfs://nn:8020/flume/%Y")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.FilePrefix != "FlumeData" || cfg.InUseSuffix != ".tmp" || cfg.RollInterval != 30*time.Second ||
		cfg.RollSize != 1024 || cfg.RollCount != 10 || cfg.BatchSize != 100 || cfg.FileType != "SequenceFile" ||
		cfg.MaxOpenFiles != 5000 || cfg.CallTimeout != 30*time.Second || cfg.RetryInterval != 180*time.Second {
		t.Errorf("defaults differ from Flume's: %+v", cfg)
	}
	for _, c := range []struct {
		kv   []string
		want string
	}{
		{[]string{"hdfs.path", "s3a://b/x"}, "not supported"},
		{[]string{"hdfs.path", "/x", "hdfs.fileType", "DataStream", "hdfs.codeC", "gzip"}, "does not compress"},
		{[]string{"hdfs.path", "/x", "hdfs.fileType", "CompressedStream"}, "must be set"},
		{[]string{"hdfs.path", "/x", "hdfs.codeC", "gzip"}, "deflate"},
		{[]string{"hdfs.path", "/x", "hdfs.codeC", "bzip2", "hdfs.fileType", "CompressedStream"}, "bzip2"},
		{[]string{"hdfs.path", "/x", "hdfs.kerberosPrincipal", "flume/_HOST@R"}, "Kerberos"},
		{[]string{"hdfs.path", "/x", "hdfs.round", "true", "hdfs.roundUnit", "hour", "hdfs.roundValue", "25"}, "between 1 and 24"},
		{[]string{"hdfs.path", "/x", "hdfs.timeZone", "Mars/Base"}, "unknown time zone"},
		{[]string{"hdfs.path", "/x/%[bogus]"}, "static escape"},
		{[]string{"hdfs.path", "/x", "hdfs.writeFormat", "com.example.Custom"}, "Writable or Text"},
	} {
		_, err := decodeT(t, c.kv...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error with %q", c.kv, err, c.want)
		}
	}
}

func TestStaticEscapes(t *testing.T) {
	e := &sluice.Event{}
	o := &timeOpts{loc: time.UTC}
	for _, esc := range []string{"%[localhost]", "%[IP]", "%[FQDN]"} {
		got, err := expandT(t, "/x/"+esc, e, o, time.Now())
		if err != nil || len(got) <= 3 || strings.ContainsAny(got[3:], "/\x00") {
			t.Errorf("%s: %q %v", esc, got, err)
		}
	}
	ip, _ := expandT(t, "%[ip]", e, o, time.Now())
	if net.ParseIP(ip) == nil {
		t.Errorf("%%[IP] = %q, not an IP address", ip)
	}
}

// hdfs.path forms: host:port, a host alone (port 8020), a nameservice
// resolved through HADOOP_CONF_DIR, a path on fs.defaultFS.
func TestTargets(t *testing.T) {
	dir := t.TempDir()
	site := `<configuration>
<property><name>fs.defaultFS</name><value>hdfs://ns1</value></property>
<property><name>dfs.nameservices</name><value>ns1</value></property>
<property><name>dfs.ha.namenodes.ns1</name><value>nn1,nn2</value></property>
<property><name>dfs.namenode.rpc-address.ns1.nn1</name><value>10.0.0.1:8020</value></property>
<property><name>dfs.namenode.rpc-address.ns1.nn2</name><value>10.0.0.2:8020</value></property>
</configuration>`
	for _, f := range []string{"core-site.xml", "hdfs-site.xml"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(site), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HADOOP_CONF_DIR", dir)
	for in, want := range map[string]string{
		"hdfs://nn:9000/a/%Y": "nn:9000 /a/%Y",
		"hdfs://nn/a":         "nn:8020 /a",
		"hdfs://ns1/a":        "10.0.0.1:8020,10.0.0.2:8020 /a",
		"/a/b":                "10.0.0.1:8020,10.0.0.2:8020 /a/b",
	} {
		tg, err := parseTarget(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		addrs, err := tg.resolve()
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := strings.Join(addrs, ",") + " " + tg.path; got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}
