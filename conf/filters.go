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

	"github.com/sluiceio/sluice"
)

// ExternalFilterTimeout bounds one run of an external config filter's
// command. Flume waits forever; a hung script should not hang the agent.
var ExternalFilterTimeout = 30 * time.Second

// configFilter is one <agent>.configfilters.<name> entry: a source of values
// for ${name['key']} references in component properties. Its type comes
// from the registry (kind sluice.KindConfigFilter), like any component's.
type configFilter struct {
	name   string
	impl   sluice.ConfigFilter
	broken bool // could not be set up; its references stay as written
	cache  map[string]filterResult
}

type filterResult struct {
	value    string
	ok       bool
	reported bool
	issues   []issue
}

// hadoopFilters are Flume's credential-store filter names, which Sluice
// names in its refusal.
var hadoopFilters = map[string]bool{
	"hadoop": true, "org.apache.flume.configfilter.hadoopcredentialstoreconfigfilter": true,
}

func init() {
	sluice.Register(sluice.Spec{
		Kind: sluice.KindConfigFilter, Name: "env", Stability: sluice.Stable,
		Aliases: []string{"org.apache.flume.configfilter.EnvironmentVariableConfigFilter"},
		Doc:     "Replaces `${name['VAR']}` in property values with the environment variable VAR.",
		Notes:   "An unset variable leaves the reference as written, as in Flume, and `sluice check` warns about it.",
		Example: "a1.configfilters = f1\na1.configfilters.f1.type = env\na1.sinks.k1.password = ${f1['SINK_PASSWORD']}\n",
		Factory: sluice.MakeFactory(nil, func(env sluice.Env, _ *struct{}) (*envFilter, error) {
			return &envFilter{name: env.Name, getenv: env.Getenv}, nil
		}),
	})
	sluice.Register(sluice.Spec{
		Kind: sluice.KindConfigFilter, Name: "external", Stability: sluice.Stable,
		Aliases: []string{"org.apache.flume.configfilter.ExternalProcessConfigFilter"},
		Doc: "Replaces `${name['key']}` in property values with the first line a command prints for key " +
			"(run as `command... key`, no shell; exit status 0 required).",
		Notes: "Each key runs the command once per load. A command that does not finish within 30 s is an " +
			"error (Flume waits forever).",
		Example: "a1.configfilters = f1\na1.configfilters.f1.type = external\na1.configfilters.f1.command = /usr/bin/passwords\n" +
			"a1.sinks.k1.password = ${f1['kafka']}\n",
		Factory: sluice.MakeFactory(func() *externalConfig { return &externalConfig{Charset: "UTF-8"} },
			func(env sluice.Env, c *externalConfig) (*externalFilter, error) {
				return &externalFilter{name: env.Name, command: strings.Fields(c.Command), charset: c.Charset}, nil
			}),
	})
}

// newFilter sets up a declared filter from its component; problems are
// returned positioned. A filter that cannot work is marked broken.
func newFilter(c *Component, agent string, env func(string) (string, bool)) (*configFilter, []*Error) {
	f := &configFilter{name: c.Name, cache: map[string]filterResult{}}
	if c.Type == "" {
		f.broken = true
		return f, nil // the loader reports the missing type
	}
	var errs []*Error
	fail := func(e *Error) (*configFilter, []*Error) {
		f.broken = true
		return f, append(errs, e)
	}
	if hadoopFilters[strings.ToLower(c.Type)] {
		return fail(propErr(c.TypeProp, "config filter type %q (Hadoop credential store) is not supported by sluice; use env or external", c.Type))
	}
	spec, ok := sluice.Lookup(sluice.KindConfigFilter, c.Type)
	if !ok {
		msg := fmt.Sprintf("config filter type %q is not supported: sluice supports %s", c.Type, strings.Join(filterNames(), " and "))
		if s := Suggest(c.Type, sluice.Names(sluice.KindConfigFilter)); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return fail(propErr(c.TypeProp, "%s", msg))
	}
	var cfg any
	if spec.Config != nil {
		cfg = spec.Config()
		for _, e := range Decode(cfg, c.Props) {
			if e.File == "" {
				// A missing key: a problem of the filter as a whole.
				e.Key = c.Path() + "." + e.Key
				e.File, e.Line = c.Declared.File, c.Declared.Line
			}
			if !e.Warning {
				f.broken = true
			}
			errs = append(errs, e)
		}
		if f.broken {
			return f, errs
		}
	}
	v, err := spec.New(sluice.Env{Agent: agent, Name: c.Name, Getenv: env}, cfg)
	if err != nil {
		return fail(propErr(c.TypeProp, "config filter %q: %v", c.Name, err))
	}
	impl, ok := v.(sluice.ConfigFilter)
	if !ok {
		return fail(propErr(c.TypeProp, "type %q is not a config filter", c.Type))
	}
	f.impl = impl
	return f, errs
}

func filterNames() []string {
	var out []string
	for _, s := range sluice.Specs() {
		if s.Kind == sluice.KindConfigFilter {
			out = append(out, s.Name)
		}
	}
	return out
}

// lookup returns the filter's value for key. A filter is asked once per
// key and load.
func (f *configFilter) lookup(key string, res *resolution) (string, bool, bool) {
	r, ok := f.cache[key]
	if !ok {
		v, found, notes, err := f.impl.Filter(key)
		r = filterResult{value: v, ok: found}
		for _, n := range notes {
			r.issues = append(r.issues, issue{warning: true, msg: n})
		}
		if err != nil {
			r.issues = append(r.issues, issue{msg: err.Error()})
		}
		r.reported = len(r.issues) > 0
		f.cache[key] = r
	}
	for _, is := range r.issues {
		res.add(is.warning, "%s", is.msg)
	}
	return r.value, r.ok, r.reported
}

// envFilter reads environment variables.
type envFilter struct {
	name   string
	getenv func(string) (string, bool)
}

func (f *envFilter) Filter(key string) (string, bool, []string, error) {
	v, ok := f.getenv(key)
	if !ok {
		return "", false, []string{fmt.Sprintf("config filter %q: environment variable %s is not set; ${%s['%s']} is left as written", f.name, key, f.name, key)}, nil
	}
	return v, true, nil, nil
}

// externalConfig is the external filter's properties.
type externalConfig struct {
	Command string `flume:"command" required:"true" doc:"the command to run with the key as its last argument (split on blanks, no shell)"`
	Charset string `flume:"charset" doc:"the charset of the command's output"`
}

// Validate checks the charset.
func (c *externalConfig) Validate() error {
	if strings.TrimSpace(c.Command) == "" {
		return Invalid("command", "must name a program")
	}
	if _, err := decodeCharset(nil, c.Charset); err != nil {
		return Invalid("charset", "%v", err)
	}
	return nil
}

// externalFilter runs a command per key.
type externalFilter struct {
	name    string
	command []string
	charset string
}

func (f *externalFilter) Filter(key string) (string, bool, []string, error) {
	r := f.run(key)
	var notes []string
	var err error
	for _, is := range r.issues {
		if is.warning {
			notes = append(notes, is.msg)
		} else {
			err = errors.New(is.msg)
		}
	}
	return r.value, r.ok, notes, err
}

// run executes `command... key` as Flume's ExternalProcessConfigFilter
// does (no shell; the command split on blanks): exit status 0 required,
// the first line of standard output is the value.
func (f *externalFilter) run(key string) filterResult {
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
