package conf

import (
	"fmt"
	"strings"

	"github.com/sluiceio/sluice"
)

// Load reads files (merged in order, later keys win), substitutes values
// and wires the component graph of agent. The error is only for files that
// cannot be read; every configuration problem, warnings included, is in
// the result's Errors, positioned at file:line with the full key. system
// holds -D properties (for ${sys:...}); env looks up environment variables
// (os.LookupEnv in production).
func Load(files []string, agent string, system map[string]string, env func(string) (string, bool)) (*AgentConfig, error) {
	props, err := ReadProperties(files...)
	if err != nil {
		return nil, err
	}
	return Build(props, agent, system, env), nil
}

// section is one of the agent-level lists and the component keys under it.
type section struct {
	list string // "sources"
	kind sluice.Kind
	noun string // "source"
}

var (
	secSources  = section{"sources", sluice.KindSource, "source"}
	secChannels = section{"channels", sluice.KindChannel, "channel"}
	secSinks    = section{"sinks", sluice.KindSink, "sink"}
	secGroups   = section{"sinkgroups", sluice.KindSinkProcessor, "sink group"}
	secFilters  = section{"configfilters", sluice.KindConfigFilter, "config filter"}
	sections    = []section{secSources, secChannels, secSinks, secGroups, secFilters}
)

func sectionNames() []string {
	out := make([]string, len(sections))
	for i, s := range sections {
		out[i] = s.list
	}
	return out
}

// loader holds the state of one Build.
type loader struct {
	agent string
	cfg   *AgentConfig
	r     *resolver
	first Entry // the agent's first key, where agent-wide problems point

	lists   map[string]Entry              // "sources" -> a1.sources
	defined map[string]map[string][]Entry // "sources" -> "r1" -> its entries (full keys)
	order   map[string][]string           // defined names in order of appearance
	listed  map[string][]string           // valid listed names, in list order
	listAt  map[string]Prop               // resolved list props
	// explained: names whose keys need no "not listed" warning because a
	// list error already explains them (a dotted or comma-joined name).
	explained map[string]map[string]bool
}

// Build wires agent's graph from properties already read; see Load.
func Build(props *Properties, agent string, system map[string]string, env func(string) (string, bool)) *AgentConfig {
	l := &loader{
		agent:     agent,
		cfg:       &AgentConfig{Agent: agent, System: system},
		r:         newResolver(props, system, env),
		lists:     map[string]Entry{},
		defined:   map[string]map[string][]Entry{},
		order:     map[string][]string{},
		listed:    map[string][]string{},
		listAt:    map[string]Prop{},
		explained: map[string]map[string]bool{},
	}
	prefix := agent + "."
	for _, p := range props.Problems {
		if p.Key == "" || strings.HasPrefix(p.Key, prefix) {
			l.cfg.Errors = append(l.cfg.Errors, p)
		}
	}
	var mine []Entry
	for _, e := range props.Entries {
		if strings.HasPrefix(e.Key, prefix) {
			mine = append(mine, e)
		}
	}
	if len(mine) == 0 {
		l.agentMissing(props)
		return l.cfg
	}
	l.first = mine[0]
	for _, e := range mine {
		l.classify(e)
	}
	l.readLists()
	l.build()
	SortErrors(l.cfg.Errors)
	return l.cfg
}

func (l *loader) add(e *Error) { l.cfg.Errors = append(l.cfg.Errors, e) }

func (l *loader) errAt(key string, at Prop, warning bool, format string, args ...any) {
	l.add(&Error{Key: key, File: at.File, Line: at.Line, Warning: warning, Msg: fmt.Sprintf(format, args...)})
}

func entryProp(e Entry, key string) Prop {
	return Prop{Key: key, FullKey: e.Key, Value: e.Value, File: e.File, Line: e.Line}
}

// agentMissing reports an agent name that no key starts with, listing the
// agents the files do configure.
func (l *loader) agentMissing(props *Properties) {
	seen := map[string]bool{}
	var agents []string
	for _, e := range props.Entries {
		name, rest, ok := strings.Cut(e.Key, ".")
		if !ok || name == "" || seen[name] {
			continue
		}
		seg, _, _ := strings.Cut(rest, ".")
		for _, s := range sections {
			if seg == s.list {
				seen[name] = true
				agents = append(agents, name)
				break
			}
		}
	}
	var files []string
	fseen := map[string]bool{}
	for _, e := range props.Entries {
		if !fseen[e.File] {
			fseen[e.File] = true
			files = append(files, e.File)
		}
	}
	where := strings.Join(files, ", ")
	if where == "" {
		where = "the configuration (it has no keys)"
	}
	msg := fmt.Sprintf("agent %q is not configured in %s", l.agent, where)
	if len(agents) == 0 {
		msg += "; no agent is configured there (keys look like <agent>.sources = ...)"
	} else {
		quoted := make([]string, len(agents))
		for i, a := range agents {
			quoted[i] = fmt.Sprintf("%q", a)
		}
		msg += "; agents there: " + strings.Join(quoted, ", ")
		if s := Suggest(l.agent, agents); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
	}
	l.add(&Error{Msg: msg})
}

// classify sorts one key of the agent by Flume's grammar:
// <agent>.<list> or <agent>.<list>.<name>.<key>. Anything else is ignored,
// as Flume does, with a warning.
func (l *loader) classify(e Entry) {
	rest := e.Key[len(l.agent)+1:]
	seg, after, hasDot := strings.Cut(rest, ".")
	for _, s := range sections {
		if seg != s.list {
			continue
		}
		if !hasDot {
			l.lists[s.list] = e
			return
		}
		name, key, ok := strings.Cut(after, ".")
		if !ok || name == "" || key == "" {
			l.errAt(e.Key, entryProp(e, ""), true,
				"ignored: a %s property is written %s.%s.<name>.<property>", s.noun, l.agent, s.list)
			return
		}
		if l.defined[s.list] == nil {
			l.defined[s.list] = map[string][]Entry{}
		}
		if _, seen := l.defined[s.list][name]; !seen {
			l.order[s.list] = append(l.order[s.list], name)
		}
		l.defined[s.list][name] = append(l.defined[s.list][name], e)
		return
	}
	// Not Flume's grammar: say what it may have meant.
	if s, ok := nearMiss(seg, sectionNames()); ok {
		fixed := l.agent + "." + s
		if hasDot {
			fixed += "." + after
		}
		// A misspelled list key loses the whole list: that is an error
		// unless the right key is there too.
		l.errAt(e.Key, entryProp(e, ""), hasDot || l.hasList(s),
			"ignored: not a key Flume reads (did you mean %q?)", fixed)
		return
	}
	l.errAt(e.Key, entryProp(e, ""), true,
		"ignored: Flume reads only %s.sources, .channels, .sinks, .sinkgroups, .configfilters and the keys of the components they list",
		l.agent)
}

// hasList reports whether the agent has the list key, whether or not it
// was classified yet.
func (l *loader) hasList(list string) bool {
	e, ok := l.r.props.Get(l.agent + "." + list)
	return ok && e.Value != ""
}

// resolveEntry substitutes one value; problems are reported at the key. It
// returns false when the value ends up empty (Flume drops such keys).
func (l *loader) resolveEntry(e Entry, relKey string, filters bool) (Prop, bool) {
	p := entryProp(e, relKey)
	res := &resolution{filters: filters}
	p.Value = javaTrim(l.r.resolve(e.Value, res))
	for _, is := range res.issues {
		l.errAt(e.Key, p, is.warning, "%s", is.msg)
	}
	if strings.Contains(e.Value, " #") {
		// The text is not quoted: it may be part of a secret.
		l.errAt(e.Key, p, true, `the " #..." at the end is part of the value: the properties format has whole-line comments only`)
	}
	if p.Value == "" {
		l.errAt(e.Key, p, true, "empty value: Flume ignores keys without a value, and so does sluice")
		return p, false
	}
	return p, true
}

// readLists resolves the agent-level lists and checks the names in them.
func (l *loader) readLists() {
	// Config filters first, so that references to them elsewhere are
	// recognised (and left alone where Flume does not apply them).
	order := []section{secFilters, secSources, secChannels, secSinks, secGroups}
	for _, s := range order {
		e, ok := l.lists[s.list]
		if !ok {
			continue
		}
		p, ok := l.resolveEntry(e, s.list, false)
		if !ok {
			continue
		}
		l.listAt[s.list] = p
		l.listed[s.list] = l.names(p, s.noun, l.explainedFor(s.list))
		if s == secFilters {
			for _, n := range l.listed[s.list] {
				l.r.filters[n] = &configFilter{name: n, broken: true} // set up in build
			}
		}
	}
}

func (l *loader) explainedFor(list string) map[string]bool {
	if l.explained[list] == nil {
		l.explained[list] = map[string]bool{}
	}
	return l.explained[list]
}

// names splits a list value into valid, distinct names. Names with dots
// or commas cannot work and are reported; their pieces go to explained.
func (l *loader) names(p Prop, noun string, explained map[string]bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range strings.Fields(p.Value) {
		switch {
		case strings.Contains(n, ","):
			for _, part := range strings.Split(n, ",") {
				explained[part] = true
			}
			l.errAt(p.FullKey, p, false, "%q: names in a list are separated by blanks, not commas", n)
		case strings.Contains(n, "."):
			head, tail, _ := strings.Cut(n, ".")
			explained[head] = true
			l.errAt(p.FullKey, p, false,
				"%s name %q contains a dot, which Flume's key grammar cannot express: in %s.%s.type the name ends at the first dot (%q) and the rest (%q) is read as the property; rename it, e.g. %q",
				noun, n, p.FullKey, n, head, tail+".type", strings.ReplaceAll(n, ".", "_"))
		case seen[n]:
			l.errAt(p.FullKey, p, true, "%s %q is listed twice; once is enough", noun, n)
		default:
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// build creates the components and checks how they connect.
func (l *loader) build() {
	cfg := l.cfg
	if _, ok := l.listAt["channels"]; !ok {
		l.errAt(l.agent+".channels", entryProp(l.first, ""), false,
			"agent %q declares no channels (%s.channels = c1 ...): every source and sink needs one", l.agent, l.agent)
	}
	_, hasSources := l.listAt["sources"]
	_, hasSinks := l.listAt["sinks"]
	if !hasSources && !hasSinks {
		l.errAt(l.agent+".sources", entryProp(l.first, ""), false,
			"agent %q declares neither sources nor sinks (%s.sources = r1 ..., %s.sinks = k1 ...)", l.agent, l.agent, l.agent)
	}

	// Filters first: component values may refer to them.
	for _, c := range l.components(secFilters, false) {
		l.wireSimple(c, secFilters.list)
		cfg.ConfigFilters = append(cfg.ConfigFilters, c)
		f, errs := newFilter(c, l.agent, l.r.env)
		cfg.Errors = append(cfg.Errors, errs...)
		l.r.filters[c.Name] = f
	}
	channels := map[string]bool{}
	for _, n := range l.listed["channels"] {
		channels[n] = true
	}
	sinks := map[string]bool{}
	for _, n := range l.listed["sinks"] {
		sinks[n] = true
	}
	used := map[string]bool{}

	cfg.Channels = l.components(secChannels, true)
	for _, c := range cfg.Channels {
		l.wireSimple(c, secChannels.list)
	}
	for _, c := range l.components(secSources, true) {
		l.wireSource(c, channels, used)
		cfg.Sources = append(cfg.Sources, c)
	}
	for _, c := range l.components(secSinks, true) {
		l.wireSink(c, channels, used)
		cfg.Sinks = append(cfg.Sinks, c)
	}
	inGroup := map[string]Prop{} // sink -> the group's sinks key
	for _, c := range l.components(secGroups, true) {
		l.wireGroup(c, sinks, inGroup)
		cfg.SinkGroups = append(cfg.SinkGroups, c)
	}
	for _, c := range cfg.Channels {
		if !used[c.Name] && len(l.defined["channels"][c.Name]) > 0 {
			l.errAt(c.Path(), c.Declared, true,
				"channel %q is declared but no source writes to it and no sink drains it", c.Name)
		}
	}
	l.unlisted()
}

// unlisted warns about components that have keys but are not listed:
// Flume ignores them silently.
func (l *loader) unlisted() {
	for _, s := range sections {
		listed := map[string]bool{}
		for _, n := range l.listed[s.list] {
			listed[n] = true
		}
		for _, name := range l.order[s.list] {
			if listed[name] || l.explained[s.list][name] {
				continue
			}
			e := l.defined[s.list][name][0]
			msg := fmt.Sprintf("%s %q has keys but is not listed in %s.%s; it is ignored", s.noun, name, l.agent, s.list)
			if _, ok := l.listAt[s.list]; !ok {
				msg = fmt.Sprintf("%s %q has keys but there is no %s.%s list; it is ignored", s.noun, name, l.agent, s.list)
			}
			l.errAt(l.agent+"."+s.list+"."+name, entryProp(e, ""), true, "%s", msg)
		}
	}
}

// components creates the listed components of a section with their
// resolved properties (keys relative to the component). Structural keys
// stay in Props here; the wire* functions take them out.
func (l *loader) components(s section, filters bool) []*Component {
	var out []*Component
	for _, name := range l.listed[s.list] {
		c := &Component{Kind: s.kind, Name: name, Declared: l.listAt[s.list]}
		entries := l.defined[s.list][name]
		if len(entries) == 0 {
			msg := fmt.Sprintf("%s %q is listed but has no keys (%s.type = ...)", s.noun, name, c.Path())
			if sug := Suggest(name, l.unlistedNames(s.list)); sug != "" {
				msg += fmt.Sprintf("; did you mean %q, which has keys?", sug)
			}
			l.errAt(c.Path(), c.Declared, false, "%s", msg)
			out = append(out, c)
			continue
		}
		prefix := c.Path() + "."
		for _, e := range entries {
			if p, ok := l.resolveEntry(e, e.Key[len(prefix):], filters); ok {
				c.Props = append(c.Props, p)
			}
		}
		if s != secGroups {
			c.Props = l.takeType(c, c.Props)
		}
		out = append(out, c)
	}
	return out
}

func (l *loader) unlistedNames(list string) []string {
	listed := map[string]bool{}
	for _, n := range l.listed[list] {
		listed[n] = true
	}
	var out []string
	for _, n := range l.order[list] {
		if !listed[n] {
			out = append(out, n)
		}
	}
	return out
}
