package conf

import (
	"fmt"
	"os"
	"os/user"
	"regexp"
	"runtime"
	"strings"
)

// envVarResolver is the -DpropertiesImplementation value with which Flume
// before 1.10 resolved a bare ${NAME} from the environment; 1.10+ still
// honours it as a fallback for bare names.
const envVarResolver = "org.apache.flume.node.EnvVarResolverProperties"

// resolver performs Flume 1.10+'s value substitution, which is Apache
// Commons Text's StringSubstitutor with an interpolator:
//
//	${env:NAME}        environment variable
//	${sys:NAME}        -D system property
//	${other.key}       another key of the merged files (resolved itself)
//	${x:-default}      default when x does not resolve
//	$${x}              the literal text ${x}
//	${f1['key']}       config filter f1 (component values only, as in Flume)
//
// Variable names may themselves contain ${...}. A reference that does not
// resolve stays as written, and the caller gets a warning.
type resolver struct {
	props       *Properties
	env         func(string) (string, bool)
	system      map[string]string
	envFallback bool
	filters     map[string]*configFilter // declared filters by name

	memo   map[memoKey]string
	active map[string]bool
}

type memoKey struct {
	key     string
	filters bool
}

// issue is a problem met while resolving one value.
type issue struct {
	msg     string
	warning bool
}

// resolution collects what happened while resolving one value.
type resolution struct {
	filters bool // config filter references are allowed in this value
	issues  []issue
	seen    map[string]bool
}

func (res *resolution) add(warning bool, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if res.seen == nil {
		res.seen = map[string]bool{}
	}
	if res.seen[msg] {
		return
	}
	res.seen[msg] = true
	res.issues = append(res.issues, issue{msg: msg, warning: warning})
}

func newResolver(props *Properties, system map[string]string, env func(string) (string, bool)) *resolver {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	return &resolver{
		props:       props,
		env:         env,
		system:      system,
		envFallback: system["propertiesImplementation"] == envVarResolver,
		filters:     map[string]*configFilter{},
		memo:        map[memoKey]string{},
		active:      map[string]bool{},
	}
}

// resolve substitutes every reference in s.
func (r *resolver) resolve(s string, res *resolution) string {
	if !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			b.WriteString("${") // escaped: the text after it is not a reference
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			b.WriteByte(s[i])
			i++
			continue
		}
		end := closingBrace(s, i+2)
		if end < 0 {
			b.WriteString(s[i:]) // no closing brace: literal, as Commons Text does
			break
		}
		raw := s[i : end+1]
		inner := r.resolve(s[i+2:end], res)
		if v, ok := r.variable(inner, res); ok {
			b.WriteString(v)
		} else {
			b.WriteString(raw)
		}
		i = end + 1
	}
	return b.String()
}

// closingBrace finds the '}' that closes a reference whose name starts at
// from, counting nested ${ as Commons Text does with substitution in
// variable names enabled.
func closingBrace(s string, from int) int {
	depth := 0
	for j := from; j < len(s); j++ {
		switch {
		case strings.HasPrefix(s[j:], "${"):
			depth++
			j++
		case s[j] == '}':
			if depth == 0 {
				return j
			}
			depth--
		}
	}
	return -1
}

var filterRef = regexp.MustCompile(`^(.+)\[(['"]?)([-_a-zA-Z0-9]+)(['"]?)\]$`)

// variable looks up one ${...} body (already substituted inside).
func (r *resolver) variable(expr string, res *resolution) (string, bool) {
	name, def, hasDef := strings.Cut(expr, ":-")
	v, ok, reported := r.lookup(name, res)
	if ok {
		return v, true
	}
	if hasDef {
		return r.resolve(def, res), true
	}
	if !reported {
		r.unresolved(name, res)
	}
	return "", false
}

// lookup resolves one variable name; reported says a problem was already
// recorded, so no "not defined" warning should follow.
func (r *resolver) lookup(name string, res *resolution) (v string, ok, reported bool) {
	if m := filterRef.FindStringSubmatch(name); m != nil && m[2] == m[4] {
		if f, ok := r.filters[m[1]]; ok {
			if !res.filters {
				res.add(true, "config filter reference ${%s} is left as written: Flume applies config filters to component properties only", name)
				return "", false, true
			}
			if f.broken {
				return "", false, true // the filter's own error says why
			}
			return f.lookup(m[3], res)
		}
	}
	if r.active[name] {
		res.add(false, "${%s} refers to itself (directly or through other keys); it is left as written", name)
		return "", false, true
	}
	r.active[name] = true
	defer delete(r.active, name)

	if prefix, rest, ok := strings.Cut(name, ":"); ok {
		switch strings.ToLower(prefix) {
		case "env":
			if v, ok := r.env(rest); ok {
				return r.resolve(v, res), true, false
			}
		case "sys":
			if v, ok := r.sys(rest); ok {
				return r.resolve(v, res), true, false
			}
		case "java", "date":
			res.add(true, "${%s} is left as written: sluice does not support the %q lookup", name, strings.ToLower(prefix))
			return "", false, true
		}
		// Commons Text's interpolator retries the part after the prefix
		// against the default lookup (the config keys).
		name = rest
	}
	if e, ok := r.props.Get(name); ok {
		return r.key(e, res), true, false
	}
	if r.envFallback {
		if v, ok := r.env(name); ok {
			return r.resolve(v, res), true, false
		}
	}
	return "", false, false
}

// key returns the resolved value of another config key.
func (r *resolver) key(e Entry, res *resolution) string {
	mk := memoKey{e.Key, res.filters}
	if v, ok := r.memo[mk]; ok {
		return v
	}
	v := javaTrim(r.resolve(e.Value, res))
	r.memo[mk] = v
	return v
}

func (r *resolver) unresolved(name string, res *resolution) {
	if m := filterRef.FindStringSubmatch(name); m != nil && m[2] == m[4] {
		res.add(true, "${%s} is left as written: %q is not a declared config filter", name, m[1])
		return
	}
	msg := fmt.Sprintf("${%s} is not defined; it is left as written", name)
	if _, ok := r.env(name); ok && !strings.Contains(name, ":") {
		msg += fmt.Sprintf(" (an environment variable %s exists: write ${env:%s})", name, name)
	}
	res.add(true, "%s", msg)
}

// sys reads a -D property, falling back to the JVM system properties a
// Flume configuration might plausibly use.
func (r *resolver) sys(name string) (string, bool) {
	if v, ok := r.system[name]; ok {
		return v, true
	}
	switch name {
	case "user.home":
		if h, err := os.UserHomeDir(); err == nil {
			return h, true
		}
	case "user.dir":
		if d, err := os.Getwd(); err == nil {
			return d, true
		}
	case "user.name":
		if u, err := user.Current(); err == nil {
			return u.Username, true
		}
	case "java.io.tmpdir":
		return os.TempDir(), true
	case "os.name":
		if runtime.GOOS == "linux" {
			return "Linux", true
		}
		return runtime.GOOS, true
	case "file.separator":
		return string(os.PathSeparator), true
	case "path.separator":
		return string(os.PathListSeparator), true
	case "line.separator":
		return "\n", true
	}
	return "", false
}
