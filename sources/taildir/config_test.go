package taildir

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreFlumes(t *testing.T) {
	c, err := decodeConfig(t, map[string]string{"filegroups": "f1", "filegroups.f1": "/var/log/x.log"})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"positionFile", c.PositionFile, "~/.flume/taildir_position.json"},
		{"byteOffsetHeader", c.ByteOffsetHeader, false},
		{"skipToEnd", c.SkipToEnd, false},
		{"idleTimeout", c.IdleTimeout, 120000 * time.Millisecond},
		{"writePosInterval", c.WritePosInterval, 3000 * time.Millisecond},
		{"batchSize", c.BatchSize, 100},
		{"maxBatchCount", c.MaxBatchCount, int64(math.MaxInt64)},
		{"backoffSleepIncrement", c.BackoffSleepIncrement, 1000 * time.Millisecond},
		{"maxBackoffSleep", c.MaxBackoffSleep, 5000 * time.Millisecond},
		{"cachePatternMatching", c.CachePatternMatching, true},
		{"fileHeader", c.FileHeader, false},
		{"fileHeaderKey", c.FileHeaderKey, "file"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s default %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	home, _ := os.UserHomeDir()
	if p, _ := c.positionPath(); p != filepath.Join(home, ".flume", "taildir_position.json") {
		t.Errorf("position file %q", p)
	}
}

func TestGroups(t *testing.T) {
	c, err := decodeConfig(t, map[string]string{
		"filegroups":          "f1 f2",
		"filegroups.f1":       "/var/log/test1/example.log",
		"filegroups.f2":       "/var/log/test2/.*log.*",
		"headers.f1.k1":       "v1",
		"headers.f2.a.b":      "dotted",
		"filegroups.unlisted": "/x/y",
	})
	if err != nil {
		t.Fatal(err)
	}
	gs, err := c.groups()
	if err != nil || len(gs) != 2 {
		t.Fatalf("%v %v", gs, err)
	}
	if gs[0].dir != "/var/log/test1" || !gs[0].re.MatchString("example.log") || !gs[0].re.MatchString("exampleXlog") ||
		gs[0].re.MatchString("example.log.1") || gs[0].headers["k1"] != "v1" {
		t.Errorf("f1 %+v", gs[0])
	}
	if !gs[1].re.MatchString("app.log.1") || gs[1].re.MatchString("app.txt") || gs[1].headers["a.b"] != "dotted" {
		t.Errorf("f2 %+v", gs[1])
	}
	if w := c.unusedKeys(); len(w) != 1 || !strings.Contains(w[0], `group "unlisted" is not listed`) {
		t.Errorf("warnings %v", w)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"filegroups.f1": "/x/a"}, `required property "filegroups" is missing`},
		{map[string]string{"filegroups": "f1 f2", "filegroups.f1": "/x/a"}, `group "f2" has no filegroups.f2 path`},
		{map[string]string{"filegroups": "f1", "filegroups.f1": "/x/"}, `needs a directory and a file name pattern`},
		{map[string]string{"filegroups": "f1", "filegroups.f1": "/x/(?<=a)b"}, `file name pattern "(?<=a)b" uses`},
		{map[string]string{"filegroups": "f1", "filegroups.f1": "/x/a(", "batchSize": "0"}, `batchSize (command line): "0" must be at least 1`},
		{map[string]string{"filegroups": "f1", "filegroups.f1": "/x/a", "headers.f1": "v"}, `headers.f1 (command line): must be headers.<group>.<header name>`},
		{map[string]string{"filegroups": "f1", "filegroups.f1": "/x/a", "writePosInterval": "0"}, `writePosInterval (command line): "0s" must be more than 0`},
		{map[string]string{"filegroups": "f1", "filegroups.f1": "/x/a", "idleTimeout": "soon"}, `"soon" is not a number of milliseconds`},
	}
	for _, tt := range tests {
		_, err := decodeConfig(t, tt.props)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: got %v, want %q", tt.props, err, tt.want)
		}
	}
}

func TestLoadPositions(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pos.json")
	tests := []struct {
		content string
		want    string // entries or error text
	}{
		{``, "[]"},
		{`[]`, "[]"},
		{`[{"inode":12,"pos":34,"file":"/a"},{"file":"/b","pos":1,"inode":5}]`, "[{12 34 /a} {5 1 /b}]"},
		{`[{"inode":12,"pos":34}]`, "lacks inode, pos or file"},
		{`[{"inode":"x","pos":34,"file":"/a"}]`, "bad inode, pos or file"},
		{`{`, "not a position file"},
	}
	for _, tt := range tests {
		os.WriteFile(p, []byte(tt.content), 0o644)
		e, err := loadPositions(p)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = fmtEntries(e)
		}
		if !strings.Contains(got, tt.want) {
			t.Errorf("%q: got %q, want %q", tt.content, got, tt.want)
		}
	}
	if e, err := loadPositions(filepath.Join(t.TempDir(), "none")); err != nil || e != nil {
		t.Errorf("missing file: %v %v", e, err)
	}
}

func fmtEntries(e []posEntry) string {
	var parts []string
	for _, x := range e {
		parts = append(parts, "{"+itoa(x.Inode)+" "+itoa(uint64(x.Pos))+" "+x.File+"}")
	}
	return "[" + strings.Join(parts, " ") + "]"
}
