package conf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// graphHead is a minimal valid agent; tests add keys to source r1.
const graphHead = `a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
`

func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// loadWith writes graphHead+extra and loads a1 with the given -D
// properties and environment.
func loadWith(t *testing.T, extra string, system, env map[string]string) (*AgentConfig, string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "flume.conf")
	if err := os.WriteFile(file, []byte(graphHead+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load([]string{file}, "a1", system, mapEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	return cfg, dir
}

// sourceProp returns the value of source r1's property key.
func sourceProp(t *testing.T, cfg *AgentConfig, key string) string {
	t.Helper()
	for _, p := range cfg.Sources[0].Props {
		if p.Key == key {
			return p.Value
		}
	}
	t.Fatalf("r1 has no %q: %s", key, dump(cfg))
	return ""
}

func TestSubstitution(t *testing.T) {
	system := map[string]string{"NC_PORT": "7777", "dir": "/data", "inner": "NC_PORT"}
	env := map[string]string{"HOST": "example.org", "EMPTY": "", "REF": "${sys:dir}/x", "WHICH": "HOST"}
	tests := []struct {
		name  string
		extra string // lines after graphHead; the value under test is r1.v
		want  string
	}{
		{"env", "a1.sources.r1.v = ${env:HOST}", "example.org"},
		{"env prefix case-insensitive", "a1.sources.r1.v = ${ENV:HOST}", "example.org"},
		{"env empty", "a1.sources.r1.v = [${env:EMPTY}]", "[]"},
		{"sys", "a1.sources.r1.v = ${sys:NC_PORT}", "7777"},
		{"sys default java property", "a1.sources.r1.v = ${sys:file.separator}", string(os.PathSeparator)},
		{"bare key", "port = 4444\na1.sources.r1.v = ${port}", "4444"},
		{"bare key of the agent", "a1.sources.r1.v = ${a1.channels.c1.type}", "memory"},
		{"bare key resolved itself", "base = ${sys:dir}\npath = ${base}/spool\na1.sources.r1.v = ${path}", "/data/spool"},
		{"several in one value", "a1.sources.r1.v = http://${env:HOST}:${sys:NC_PORT}/", "http://example.org:7777/"},
		{"default used", "a1.sources.r1.v = ${env:NOPE:-fallback}", "fallback"},
		{"default not used", "a1.sources.r1.v = ${env:HOST:-fallback}", "example.org"},
		{"default substituted", "a1.sources.r1.v = ${env:NOPE:-${sys:dir}}", "/data"},
		{"nested name", "a1.sources.r1.v = ${sys:${sys:inner}}", "7777"},
		{"env value substituted too", "a1.sources.r1.v = ${env:REF}", "/data/x"},
		{"escaped", "a1.sources.r1.v = $${env:HOST} and ${env:HOST}", "${env:HOST} and example.org"},
		{"unresolved stays", "a1.sources.r1.v = ${env:NOPE}/x", "${env:NOPE}/x"},
		{"unclosed stays", "a1.sources.r1.v = ${env:HOST", "${env:HOST"},
		{"dollar alone", "a1.sources.r1.v = a$b {c} $", "a$b {c} $"},
		{"prefix retried as key (Commons Text)", "NOPE = k\na1.sources.r1.v = ${env:NOPE}", "k"},
		{"value trimmed after substitution", "a1.sources.r1.v = ${env:WHICH} ", "HOST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := loadWith(t, tt.extra+"\n", system, env)
			if got := sourceProp(t, cfg, "v"); got != tt.want {
				t.Errorf("v = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSubstitutionAcrossFiles(t *testing.T) {
	// The user guide's example: the value comes from a later file.
	dir := t.TempDir()
	base, over := filepath.Join(dir, "example.conf"), filepath.Join(dir, "override.conf")
	os.WriteFile(base, []byte(graphHead+"a1.sources.r1.port = ${NC_PORT}\n"), 0o644)
	os.WriteFile(over, []byte("NC_PORT = 44444\n"), 0o644)
	cfg, err := Load([]string{base, over}, "a1", nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := sourceProp(t, cfg, "port"); got != "44444" {
		t.Errorf("port = %q", got)
	}
	if len(cfg.Errors) != 0 {
		t.Error(cfg.Errors)
	}
}

func TestSubstitutionProblems(t *testing.T) {
	tests := []struct {
		name  string
		extra string
		env   map[string]string
		want  []problem
	}{
		{"unresolved env", "a1.sources.r1.v = ${env:NOPE}\n", nil, []problem{
			{true, "a1.sources.r1.v", "flume.conf:9", "${env:NOPE} is not defined; it is left as written"},
		}},
		{"bare name of an environment variable", "a1.sources.r1.v = ${HOME_DIR}\n", map[string]string{"HOME_DIR": "/h"}, []problem{
			{true, "a1.sources.r1.v", "flume.conf:9", "${HOME_DIR} is not defined; it is left as written (an environment variable HOME_DIR exists: write ${env:HOME_DIR})"},
		}},
		{"cycle", "x = ${y}\ny = ${x}\na1.sources.r1.v = ${x}\na1.sources.r1.w = ${a1.sources.r1.w}\n", nil, []problem{
			{false, "a1.sources.r1.v", "flume.conf:11", "${x} refers to itself"},
			{false, "a1.sources.r1.w", "flume.conf:12", "${a1.sources.r1.w} refers to itself"},
		}},
		{"unsupported lookups", "a1.sources.r1.v = ${java:version} ${date:yyyy}\n", nil, []problem{
			{true, "a1.sources.r1.v", "flume.conf:9", `${java:version} is left as written: sluice does not support the "java" lookup`},
			{true, "a1.sources.r1.v", "flume.conf:9", `${date:yyyy} is left as written: sluice does not support the "date" lookup`},
		}},
		{"empty after substitution", "a1.sources.r1.v = ${env:EMPTY}\n", map[string]string{"EMPTY": " "}, []problem{
			{true, "a1.sources.r1.v", "flume.conf:9", "empty value"},
		}},
		{"undeclared filter", "a1.sources.r1.v = ${f9['k']}\n", nil, []problem{
			{true, "a1.sources.r1.v", "flume.conf:9", `${f9['k']} is left as written: "f9" is not a declared config filter`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, dir := loadWith(t, tt.extra, nil, tt.env)
			wantProblems(t, cfg, dir, tt.want...)
		})
	}
}

func TestEnvVarResolverFallback(t *testing.T) {
	// -DpropertiesImplementation=...EnvVarResolverProperties keeps the
	// pre-1.10 bare ${NAME} from the environment working.
	env := map[string]string{"NC_PORT": "4141"}
	cfg, _ := loadWith(t, "a1.sources.r1.port = ${NC_PORT}\n",
		map[string]string{"propertiesImplementation": envVarResolver}, env)
	if got := sourceProp(t, cfg, "port"); got != "4141" {
		t.Errorf("port = %q", got)
	}
	cfg, _ = loadWith(t, "a1.sources.r1.port = ${NC_PORT}\n", nil, env)
	if got := sourceProp(t, cfg, "port"); got != "${NC_PORT}" {
		t.Errorf("without the property, port = %q", got)
	}
}

func TestEnvFilter(t *testing.T) {
	env := map[string]string{"my_keystore_password": "Secret123", "user": "flume"}
	for _, typ := range []string{"env", "ENV", "org.apache.flume.configfilter.EnvironmentVariableConfigFilter"} {
		t.Run(typ, func(t *testing.T) {
			cfg, _ := loadWith(t, `a1.configfilters = f1
a1.configfilters.f1.type = `+typ+`
a1.sources.r1.a = ${f1['my_keystore_password']}
a1.sources.r1.b = ${f1["user"]}
a1.sources.r1.c = ${f1[user]}@host
a1.sources.r1.d = x${f1['user']}y${f1['user']}z
`, nil, env)
			if len(cfg.Errors) != 0 {
				t.Fatal(cfg.Errors)
			}
			for k, want := range map[string]string{"a": "Secret123", "b": "flume", "c": "flume@host", "d": "xflumeyflumez"} {
				if got := sourceProp(t, cfg, k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			f := cfg.ConfigFilters
			if len(f) != 1 || f[0].Name != "f1" || f[0].Type != typ || f[0].TypeProp.Line != 10 {
				t.Errorf("ConfigFilters %s", dump(cfg))
			}
		})
	}
}

func TestFilterReferences(t *testing.T) {
	cfg, dir := loadWith(t, `a1.configfilters = f1
a1.configfilters.f1.type = env
a1.sources.r1.mismatched = ${f1['k"]}
a1.sources.r1.badkey = ${f1['a b']}
a1.sources.r1.unset = ${f1['NOT_SET']}
a1.sources.r1.viaKey = ${shared}
shared = ${f1['k']}
a1.sources.r1.v = ${env:NOT_SET:-${f1['k']}}
`, nil, map[string]string{"k": "v"})
	for k, want := range map[string]string{
		"mismatched": `${f1['k"]}`, "badkey": `${f1['a b']}`, "unset": `${f1['NOT_SET']}`,
		"viaKey": "v", "v": "v",
	} {
		if got := sourceProp(t, cfg, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	wantProblems(t, cfg, dir,
		problem{true, "a1.sources.r1.mismatched", "flume.conf:11", "is not defined"},
		problem{true, "a1.sources.r1.badkey", "flume.conf:12", "is not defined"},
		problem{true, "a1.sources.r1.unset", "flume.conf:13", `config filter "f1": environment variable NOT_SET is not set; ${f1['NOT_SET']} is left as written`},
	)
}

func TestFiltersOnlyInComponentValues(t *testing.T) {
	// As in Flume, filters apply to component properties, not to the
	// agent's lists or to the filters' own settings.
	cfg, dir := loadWith(t, `a1.configfilters = f1 f2
a1.configfilters.f1.type = env
a1.configfilters.f2.type = ${f1['T']}
a1.sinkgroups = ${f1['G']}
`, nil, map[string]string{"T": "env", "G": "g1"})
	wantProblems(t, cfg, dir,
		problem{true, "a1.configfilters.f2.type", "flume.conf:11", "Flume applies config filters to component properties only"},
		problem{false, "a1.configfilters.f2.type", "flume.conf:11", `config filter type "${f1['T']}" is not supported`},
		problem{true, "a1.sinkgroups", "flume.conf:12", "Flume applies config filters to component properties only"},
		problem{false, "a1.sinkgroups.${f1['G']}", "flume.conf:12", "is listed but has no keys"},
	)
}

func TestFilterSetupProblems(t *testing.T) {
	tests := []struct {
		name  string
		extra string
		want  []problem
	}{
		{"hadoop", "a1.configfilters = f1\na1.configfilters.f1.type = hadoop\na1.configfilters.f1.credential.provider.path = jceks://file/x\na1.sources.r1.pw = ${f1['pw']}\n", []problem{
			{false, "a1.configfilters.f1.type", "flume.conf:10", `config filter type "hadoop" (Hadoop credential store) is not supported by sluice; use env or external`},
		}},
		{"hadoop class", "a1.configfilters = f1\na1.configfilters.f1.type = org.apache.flume.configfilter.HadoopCredentialStoreConfigFilter\n", []problem{
			{false, "a1.configfilters.f1.type", "flume.conf:10", "is not supported by sluice"},
		}},
		{"unknown type", "a1.configfilters = f1\na1.configfilters.f1.type = com.example.Vault\n", []problem{
			{false, "a1.configfilters.f1.type", "flume.conf:10", `config filter type "com.example.Vault" is not supported: sluice supports env and external`},
		}},
		{"no type", "a1.configfilters = f1\na1.configfilters.f1.command = /bin/echo\n", []problem{
			{false, "a1.configfilters.f1.type", "flume.conf:9", `config filter "f1" has no type`},
		}},
		{"listed without keys", "a1.configfilters = f1\n", []problem{
			{false, "a1.configfilters.f1", "flume.conf:9", `config filter "f1" is listed but has no keys`},
		}},
		{"not listed", "a1.configfilters.f1.type = env\n", []problem{
			{true, "a1.configfilters.f1", "flume.conf:9", `config filter "f1" has keys but there is no a1.configfilters list`},
		}},
		{"external without command", "a1.configfilters = f1\na1.configfilters.f1.type = external\n", []problem{
			{false, "a1.configfilters.f1.command", "flume.conf:9", `required property "command" is missing`},
		}},
		{"bad charset", "a1.configfilters = f1\na1.configfilters.f1.type = external\na1.configfilters.f1.command = /bin/echo\na1.configfilters.f1.charset = EBCDIC\n", []problem{
			{false, "a1.configfilters.f1.charset", "flume.conf:12", `unsupported charset "EBCDIC"`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, dir := loadWith(t, tt.extra, nil, nil)
			wantProblems(t, cfg, dir, tt.want...)
		})
	}
}

// script writes an executable shell script into dir.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExternalFilter(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	resolver := script(t, dir, "resolve.sh", `echo "$1" >> `+calls+`
case "$1" in
  my_password_key) echo "  filtered  " ;;
  agent_name) printf '1234' ;;
  two_lines) printf 'first\nsecond\n' ;;
  crlf) printf 'win\r\n' ;;
  nothing) ;;
  bad) echo "no such secret: $1" >&2; exit 3 ;;
esac
`)
	// Extra words of command become leading arguments; the key comes last.
	withArg := script(t, dir, "prefix.sh", `echo "$1-$2"`)
	cfg, cdir := loadWith(t, `a1.configfilters = f1 f2
a1.configfilters.f1.type = external
a1.configfilters.f1.command = `+resolver+`
a1.configfilters.f1.charset = UTF-8
a1.configfilters.f2.type = org.apache.flume.configfilter.ExternalProcessConfigFilter
a1.configfilters.f2.command = `+withArg+` vault
a1.sources.r1.pw = ${f1['my_password_key']}
a1.sources.r1.pw2 = ${f1["my_password_key"]}
a1.sources.r1.dir = /var/log/flume/agent_${f1[agent_name]}
a1.sources.r1.two = ${f1['two_lines']}
a1.sources.r1.crlf = ${f1['crlf']}
a1.sources.r1.none = ${f1['nothing']}
a1.sources.r1.bad = ${f1['bad']}
a1.sources.r1.arg = ${f2['key']}
`, nil, nil)
	for k, want := range map[string]string{
		"pw": "filtered", "pw2": "filtered", "dir": "/var/log/flume/agent_1234", "two": "first",
		"crlf": "win", "none": "${f1['nothing']}", "bad": "${f1['bad']}", "arg": "vault-key",
	} {
		if got := sourceProp(t, cfg, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	wantProblems(t, cfg, cdir,
		problem{true, "a1.sources.r1.two", "flume.conf:18", `printed more than one line for key "two_lines"; only the first is used`},
		problem{true, "a1.sources.r1.none", "flume.conf:20", `printed nothing for key "nothing"; ${f1['nothing']} is left as written`},
		problem{false, "a1.sources.r1.bad", "flume.conf:21", `config filter "f1": command "` + resolver + `" for key "bad" exited with status 3: no such secret: bad`},
	)
	// One run per key, however often it is referenced.
	data, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(data), "my_password_key\n"); got != 1 {
		t.Errorf("my_password_key resolved %d times, want 1 (calls: %q)", got, data)
	}
}

func TestExternalFilterCommandMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-command")
	cfg, dir := loadWith(t, `a1.configfilters = f1
a1.configfilters.f1.type = external
a1.configfilters.f1.command = `+missing+`
a1.sources.r1.pw = ${f1['k']}
`, nil, nil)
	wantProblems(t, cfg, dir,
		problem{false, "a1.sources.r1.pw", "flume.conf:12", `command "` + missing + `" for key "k" could not run`},
	)
}

func TestExternalFilterCharset(t *testing.T) {
	dir := t.TempDir()
	latin := script(t, dir, "latin.sh", `printf 'caf\351'`)
	utf16 := script(t, dir, "utf16.sh", `printf '\000h\000i'`)
	cfg, _ := loadWith(t, `a1.configfilters = l u
a1.configfilters.l.type = external
a1.configfilters.l.command = `+latin+`
a1.configfilters.l.charset = ISO-8859-1
a1.configfilters.u.type = external
a1.configfilters.u.command = `+utf16+`
a1.configfilters.u.charset = UTF-16BE
a1.sources.r1.a = ${l['x']}
a1.sources.r1.b = ${u['x']}
`, nil, nil)
	if got := sourceProp(t, cfg, "a"); got != "café" {
		t.Errorf("a = %q", got)
	}
	if got := sourceProp(t, cfg, "b"); got != "hi" {
		t.Errorf("b = %q", got)
	}
}

func TestUnlistedFilterIsNotRun(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	cmd := script(t, dir, "touch.sh", "touch "+marker+"\necho x\n")
	cfg, _ := loadWith(t, `a1.configfilters.f1.type = external
a1.configfilters.f1.command = `+cmd+`
a1.sources.r2.pw = ${f1['k']}
`, nil, nil)
	if _, err := os.Stat(marker); err == nil {
		t.Error("a filter that is not listed must not run")
	}
	if len(cfg.Warnings()) != 2 {
		t.Errorf("want two not-listed warnings: %v", cfg.Errors)
	}
}
