package conf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
	"unicode/utf16"
)

// ExternalFilterTimeout bounds one run of an external config filter's
// command. Flume waits forever; a hung script should not hang the agent.
var ExternalFilterTimeout = 30 * time.Second

// configFilter is one <agent>.configfilters.<name> entry: a source of values
// for ${name['key']} references in component properties.
type configFilter struct {
	name    string
	kind    string // "env" or "external"
	command []string
	charset string
	env     func(string) (string, bool)
	broken  bool // could not be set up; its references stay as written
	cache   map[string]filterResult
}

type filterResult struct {
	value    string
	ok       bool
	reported bool
	issues   []issue
}

// Flume's config filter type names and the classes they stand for.
var filterTypes = map[string]string{
	"env":      "env",
	"external": "external",
	"hadoop":   "hadoop",
	"org.apache.flume.configfilter.environmentvariableconfigfilter":   "env",
	"org.apache.flume.configfilter.externalprocessconfigfilter":       "external",
	"org.apache.flume.configfilter.hadoopcredentialstoreconfigfilter": "hadoop",
}

// newFilter sets up a declared filter from its component; problems are
// returned positioned. A filter that cannot work is marked broken.
func newFilter(c *Component, env func(string) (string, bool)) (*configFilter, []*Error) {
	f := &configFilter{name: c.Name, env: env, cache: map[string]filterResult{}, charset: "UTF-8"}
	var errs []*Error
	fail := func(e *Error) {
		f.broken = true
		errs = append(errs, e)
	}
	if c.Type == "" {
		return &configFilter{name: c.Name, broken: true}, nil // the loader reports the missing type
	}
	kind, known := filterTypes[strings.ToLower(c.Type)]
	switch {
	case !known:
		fail(propErr(c.TypeProp, "config filter type %q is not supported: sluice supports env and external", c.Type))
	case kind == "hadoop":
		fail(propErr(c.TypeProp, "config filter type %q (Hadoop credential store) is not supported by sluice; use env or external", c.Type))
	}
	f.kind = kind
	props := map[string]Prop{}
	for _, p := range c.Props {
		props[p.Key] = p
	}
	if kind == "external" {
		cmd, ok := props["command"]
		if !ok {
			fail(&Error{Key: c.Path() + ".command", File: c.Declared.File, Line: c.Declared.Line,
				Msg: fmt.Sprintf("config filter %q of type external needs a command", c.Name)})
		} else {
			f.command = strings.Fields(cmd.Value)
		}
		if cs, ok := props["charset"]; ok {
			if _, err := decodeCharset(nil, cs.Value); err != nil {
				fail(propErr(cs, "%v", err))
			} else {
				f.charset = cs.Value
			}
		}
	}
	return f, errs
}

// lookup returns the filter's value for key. An external command runs once
// per key and load.
func (f *configFilter) lookup(key string, res *resolution) (string, bool, bool) {
	r, ok := f.cache[key]
	if !ok {
		switch f.kind {
		case "env":
			r.value, r.ok = f.env(key)
			if !r.ok {
				r.reported = true
				r.issues = append(r.issues, issue{warning: true,
					msg: fmt.Sprintf("config filter %q: environment variable %s is not set; ${%s['%s']} is left as written", f.name, key, f.name, key)})
			}
		case "external":
			r = f.run(key)
		}
		f.cache[key] = r
	}
	for _, is := range r.issues {
		res.add(is.warning, "%s", is.msg)
	}
	return r.value, r.ok, r.reported
}

// run executes `command... key` as Flume's ExternalProcessConfigFilter
// does (no shell; the command split on blanks): exit status 0 required,
// the first line of standard output is the value.
func (f *configFilter) run(key string) filterResult {
	ctx, cancel := context.WithTimeout(context.Background(), ExternalFilterTimeout)
	defer cancel()
	args := append(append([]string(nil), f.command[1:]...), key)
	cmd := exec.CommandContext(ctx, f.command[0], args...)
	cmd.WaitDelay = time.Second // a grandchild holding stdout must not block us
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	cmdline := strings.Join(f.command, " ")
	fail := func(format string, args ...any) filterResult {
		return filterResult{reported: true, issues: []issue{{msg: fmt.Sprintf("config filter %q: command %q for key %q %s", f.name, cmdline, key, fmt.Sprintf(format, args...))}}}
	}
	if err != nil {
		var exit *exec.ExitError
		switch {
		case ctx.Err() != nil:
			return fail("did not finish within %s", ExternalFilterTimeout)
		case errors.As(err, &exit):
			msg := fmt.Sprintf("exited with status %d", exit.ExitCode())
			if s := strings.TrimSpace(stderr.String()); s != "" {
				msg += ": " + s
			}
			return fail("%s", msg)
		default:
			return fail("could not run: %v", err)
		}
	}
	out, err := decodeCharset(stdout.Bytes(), f.charset)
	if err != nil {
		return fail("%v", err)
	}
	var r filterResult
	line, more, _ := strings.Cut(out, "\n")
	line = strings.TrimSuffix(line, "\r")
	if out == "" {
		r.reported = true
		r.issues = append(r.issues, issue{warning: true, msg: fmt.Sprintf(
			"config filter %q: command %q printed nothing for key %q; ${%s['%s']} is left as written", f.name, cmdline, key, f.name, key)})
		return r
	}
	if strings.TrimSpace(more) != "" {
		r.issues = append(r.issues, issue{warning: true, msg: fmt.Sprintf(
			"config filter %q: command %q printed more than one line for key %q; only the first is used", f.name, cmdline, key)})
	}
	r.value, r.ok = strings.TrimSpace(line), true
	return r
}

// decodeCharset decodes a command's output in the filter's charset. Only
// the charsets every JVM must have are known.
func decodeCharset(b []byte, charset string) (string, error) {
	switch strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(charset), "_", "-")) {
	case "UTF-8", "UTF8":
		return string(b), nil
	case "US-ASCII", "ASCII", "ISO-8859-1", "ISO8859-1", "LATIN1", "ISO-LATIN-1":
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r), nil
	case "UTF-16BE":
		return decodeUTF16(b, true), nil
	case "UTF-16LE":
		return decodeUTF16(b, false), nil
	case "UTF-16":
		if len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE {
			return decodeUTF16(b[2:], false), nil
		}
		if len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF {
			b = b[2:]
		}
		return decodeUTF16(b, true), nil
	}
	return "", fmt.Errorf("unsupported charset %q (sluice knows UTF-8, US-ASCII, ISO-8859-1 and UTF-16)", charset)
}

func decodeUTF16(b []byte, big bool) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		if big {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	return string(utf16.Decode(u))
}
