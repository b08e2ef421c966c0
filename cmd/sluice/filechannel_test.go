package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSalvageCommandArguments(t *testing.T) {
	dir, ck := t.TempDir(), t.TempDir()
	confPath := filepath.Join(t.TempDir(), "a.conf")
	if err := os.WriteFile(confPath, []byte("a1.channels = c1 c2\na1.channels.c1.type = file\na1.channels.c1.dataDirs = "+dir+
		"\na1.channels.c1.checkpointDir = "+ck+"\na1.channels.c2.type = memory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"filechannel"}, 2, "usage: sluice filechannel salvage"},
		{[]string{"filechannel", "salvage", "--checkpointDir", dir}, 2, "--dataDirs and --checkpointDir are required"},
		{[]string{"filechannel", "salvage", "--dataDirs", filepath.Join(dir, "nope"), "--checkpointDir", dir}, 1, "is not a directory"},
		{[]string{"filechannel", "salvage", "--bogus", "x"}, 2, `unknown option "--bogus"`},
		{[]string{"tool", "OTHERTOOL"}, 2, `unknown tool "OTHERTOOL"`},
		{[]string{"filechannel", "salvage", "--dataDirs", dir, "--checkpointDir", ck}, 0, "no damaged data found; 0 events"},
		{[]string{"tool", "--conf", "conf", "FCINTEGRITYTOOL", "-l", dir, "--checkpointDir=" + ck}, 0, "no damaged data found"},
		{[]string{"filechannel", "salvage", "-f", confPath, "-n", "a1"}, 0, "no damaged data found"},
		{[]string{"filechannel", "salvage", "-f", confPath, "-n", "a1", "--channel", "c1"}, 0, "no damaged data found"},
		{[]string{"filechannel", "salvage", "-f", confPath, "-n", "a1", "--channel", "c2"}, 1, `agent "a1" has no file channel "c2"`},
		{[]string{"filechannel", "salvage", "-f", confPath}, 1, "-n <agent> is needed"},
		{[]string{"filechannel", "salvage", "-f", confPath, "-n", "a1", "--dataDirs", dir}, 2, "not both"},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
			t.Errorf("sluice %s: exit %d, want %d and %q in:\n%s%s", strings.Join(tc.args, " "), code, tc.code, tc.want, out.String(), errb.String())
		}
	}
}
