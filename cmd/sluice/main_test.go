package main

import (
	"bytes"
	"strings"
	"testing"
)

// Every command's -h/--help prints that command's usage on stdout and
// exits 0, whatever else is on the line (Flume's start scripts put the
// flag anywhere); `sluice help <command>` prints the same.
func TestCommandHelp(t *testing.T) {
	for cmd := range commandUsage {
		for _, args := range [][]string{
			{cmd, "--help"},
			{cmd, "-h"},
			{cmd, "-n", "a1", "--help"},
			{cmd, "--bogus", "-h"},
			{"help", cmd},
		} {
			var stdout, stderr bytes.Buffer
			code := run(args, &stdout, &stderr)
			if code != 0 || stderr.Len() > 0 {
				t.Errorf("sluice %s: exit %d, stderr %q; want 0 and nothing", strings.Join(args, " "), code, stderr.String())
			}
			if want := "usage: sluice " + cmd; !strings.HasPrefix(stdout.String(), want) {
				t.Errorf("sluice %s printed %q..., want %q", strings.Join(args, " "), firstLine(stdout.String()), want)
			}
		}
	}
}

// A wrong option is a usage error (exit 2) that shows the command's own
// usage, not the list of commands.
func TestCommandUsageError(t *testing.T) {
	for _, args := range [][]string{
		{"agent", "--bogus"},
		{"check", "-n", "a1"},
		{"list", "extra"},
		{"docs", "--bogus"},
		{"version", "extra"},
		{"avro-client", "--bogus"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 {
			t.Errorf("sluice %s: exit %d, want 2", strings.Join(args, " "), code)
		}
		if !strings.Contains(stderr.String(), "usage: sluice "+args[0]) {
			t.Errorf("sluice %s: stderr lacks the command's usage:\n%s", strings.Join(args, " "), stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"help", "nope"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), `"nope"`) {
		t.Errorf("sluice help nope: exit %d, stderr %q", code, stderr.String())
	}
}

func TestTopLevelHelp(t *testing.T) {
	for _, arg := range []string{"help", "-h", "--help"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{arg}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "sluice agent -n") {
			t.Errorf("sluice %s: exit %d, stdout %q", arg, code, stdout.String())
		}
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
