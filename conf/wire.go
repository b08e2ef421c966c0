package conf

import (
	"fmt"
	"strings"

	"github.com/sluiceio/sluice"
)

// takeType moves the "type" key into Type/TypeProp.
func (l *loader) takeType(c *Component, props []Prop) []Prop {
	var rest []Prop
	for _, p := range props {
		if p.Key == "type" {
			c.Type, c.TypeProp = p.Value, p
			continue
		}
		rest = append(rest, p)
	}
	return rest
}

// misspelled tracks leftover keys that look like a structural key.
type misspelled struct {
	target string
	p      Prop
	used   bool
}

// structural splits off leftover keys that look like misspelled
// structural keys (targets), so Decode does not report them again.
func structural(props []Prop, targets ...string) (rest []Prop, miss []*misspelled) {
	for _, p := range props {
		seg, _, _ := strings.Cut(p.Key, ".")
		if t, ok := nearMiss(seg, targets); ok {
			miss = append(miss, &misspelled{target: t, p: p})
			continue
		}
		rest = append(rest, p)
	}
	return rest, miss
}

// missing reports that a required structural key is absent, at the key
// that looks like its misspelling if there is one.
func (l *loader) missing(c *Component, target, msg string, miss []*misspelled) {
	for _, m := range miss {
		if m.target == target && !m.used {
			m.used = true
			l.errAt(m.p.FullKey, m.p, false, "%s; did you mean %q instead of %q?", msg, target, m.p.Key)
			return
		}
	}
	l.errAt(c.Path()+"."+target, c.Declared, false, "%s", msg)
}

// leftovers warns about misspellings that no missing key claimed.
func (l *loader) leftovers(c *Component, miss []*misspelled) {
	for _, m := range miss {
		if !m.used {
			l.errAt(m.p.FullKey, m.p, true, "ignored: %s %q has no property %q (did you mean %q?)", nounOf(c.Kind), c.Name, m.p.Key, m.target)
		}
	}
}

func nounOf(k sluice.Kind) string {
	for _, s := range sections {
		if s.kind == k {
			return s.noun
		}
	}
	return string(k)
}

func (l *loader) requireType(c *Component, miss []*misspelled) {
	if c.Type == "" {
		l.missing(c, "type", fmt.Sprintf("%s %q has no type", nounOf(c.Kind), c.Name), miss)
	}
}

// wireSimple checks a channel or config filter: only its type is
// structural.
func (l *loader) wireSimple(c *Component, list string) {
	rest, miss := structural(c.Props, "type")
	c.Props = rest
	if len(l.defined[list][c.Name]) > 0 {
		l.requireType(c, miss)
	}
	l.leftovers(c, miss)
}

// wireSource takes channels, selector.* and interceptors* out of Props.
func (l *loader) wireSource(c *Component, declared, used map[string]bool) {
	hadKeys := len(l.defined["sources"][c.Name]) > 0
	c.Selector = &Sub{Type: "replicating"}
	var chans, icList *Prop
	icProps := map[string][]Prop{}
	var icOrder []string
	var rest []Prop
	for _, p := range c.Props {
		switch {
		case p.Key == "channels":
			chans = &p
		case p.Key == "selector.type":
			c.Selector.Type, c.Selector.TypeProp = p.Value, p
		case strings.HasPrefix(p.Key, "selector."):
			c.Selector.Props = append(c.Selector.Props, rel(p, "selector."))
		case p.Key == "selector":
			l.errAt(p.FullKey, p, true, "ignored: a selector is set with selector.type and selector.* keys (did you mean %q?)", p.FullKey+".type")
		case p.Key == "interceptors":
			icList = &p
		case strings.HasPrefix(p.Key, "interceptors."):
			name, sub, ok := strings.Cut(p.Key[len("interceptors."):], ".")
			if !ok || name == "" || sub == "" {
				l.errAt(p.FullKey, p, true, "ignored: an interceptor property is written %s.interceptors.<name>.<property>", c.Path())
				continue
			}
			if _, seen := icProps[name]; !seen {
				icOrder = append(icOrder, name)
			}
			icProps[name] = append(icProps[name], rel(p, "interceptors."+name+"."))
		default:
			rest = append(rest, p)
		}
	}
	rest, miss := structural(rest, "type", "channels", "selector", "interceptors")
	c.Props = rest
	if hadKeys {
		l.requireType(c, miss)
		if chans == nil {
			l.missing(c, "channels", fmt.Sprintf("source %q has no channels (%s.channels = c1 ...)", c.Name, c.Path()), miss)
		}
	}
	if chans != nil {
		seen := map[string]bool{}
		for _, n := range strings.Fields(chans.Value) {
			switch {
			case seen[n]:
				l.errAt(chans.FullKey, *chans, true, "channel %q is listed twice; once is enough", n)
			case !declared[n]:
				l.errAt(chans.FullKey, *chans, false, "channel %q is not declared in %s.channels%s", n, l.agent, didYouMean(n, l.listed["channels"]))
			default:
				seen[n] = true
				used[n] = true
				c.Channels = append(c.Channels, n)
			}
		}
	}
	// Interceptors run in list order.
	if icList != nil {
		for _, name := range l.names(*icList, "interceptor", map[string]bool{}) {
			sub := &Sub{Name: name}
			for _, p := range icProps[name] {
				if p.Key == "type" {
					sub.Type, sub.TypeProp = p.Value, p
				} else {
					sub.Props = append(sub.Props, p)
				}
			}
			if sub.Type == "" {
				l.errAt(c.Path()+".interceptors."+name+".type", *icList, false, "interceptor %q of source %q has no type", name, c.Name)
			}
			c.Interceptors = append(c.Interceptors, sub)
		}
	}
	listedIC := map[string]bool{}
	for _, ic := range c.Interceptors {
		listedIC[ic.Name] = true
	}
	for _, name := range icOrder {
		if !listedIC[name] {
			p := icProps[name][0]
			l.errAt(c.Path()+".interceptors."+name, p, true,
				"interceptor %q has keys but is not listed in %s.interceptors; it is ignored", name, c.Path())
		}
	}
	l.leftovers(c, miss)
}

func rel(p Prop, prefix string) Prop {
	p.Key = p.Key[len(prefix):]
	return p
}

func didYouMean(s string, candidates []string) string {
	if sug := Suggest(s, candidates); sug != "" {
		return fmt.Sprintf(" (did you mean %q?)", sug)
	}
	return ""
}

// wireSink takes the one channel out of Props.
func (l *loader) wireSink(c *Component, declared, used map[string]bool) {
	hadKeys := len(l.defined["sinks"][c.Name]) > 0
	var ch *Prop
	var rest []Prop
	for _, p := range c.Props {
		if p.Key == "channel" {
			ch = &p
			continue
		}
		rest = append(rest, p)
	}
	rest, miss := structural(rest, "type", "channel")
	c.Props = rest
	if hadKeys {
		l.requireType(c, miss)
		if ch == nil {
			l.missing(c, "channel", fmt.Sprintf("sink %q has no channel (a sink drains exactly one: %s.channel = c1)", c.Name, c.Path()), miss)
		}
	}
	if ch != nil {
		names := strings.Fields(ch.Value)
		switch {
		case len(names) > 1:
			l.errAt(ch.FullKey, *ch, false, "a sink drains exactly one channel, not %d (%q): use a sink per channel", len(names), ch.Value)
			for _, n := range names {
				used[n] = true // no second complaint about these channels
			}
		case !declared[names[0]]:
			l.errAt(ch.FullKey, *ch, false, "channel %q is not declared in %s.channels%s", names[0], l.agent, didYouMean(names[0], l.listed["channels"]))
		default:
			c.Channel = names[0]
			used[c.Channel] = true
		}
	}
	l.leftovers(c, miss)
}

// wireGroup takes sinks and processor.* out of Props.
func (l *loader) wireGroup(c *Component, declared map[string]bool, inGroup map[string]Prop) {
	hadKeys := len(l.defined["sinkgroups"][c.Name]) > 0
	c.Processor = &Sub{Type: "default"}
	var list *Prop
	var rest []Prop
	for _, p := range c.Props {
		switch {
		case p.Key == "sinks":
			list = &p
		case p.Key == "processor.type":
			c.Processor.Type, c.Processor.TypeProp = p.Value, p
		case strings.HasPrefix(p.Key, "processor."):
			c.Processor.Props = append(c.Processor.Props, rel(p, "processor."))
		case p.Key == "processor":
			l.errAt(p.FullKey, p, true, "ignored: a sink processor is set with processor.type and processor.* keys (did you mean %q?)", p.FullKey+".type")
		case p.Key == "type":
			l.errAt(p.FullKey, p, true, "ignored: a sink group's type is its processor's (did you mean %q?)", c.Path()+".processor.type")
		default:
			rest = append(rest, p)
		}
	}
	c.Type, c.TypeProp = c.Processor.Type, c.Processor.TypeProp
	rest, miss := structural(rest, "sinks", "processor")
	c.Props = rest
	if hadKeys && list == nil {
		l.missing(c, "sinks", fmt.Sprintf("sink group %q has no sinks (%s.sinks = k1 k2)", c.Name, c.Path()), miss)
	}
	if list != nil {
		for _, n := range l.names(*list, "sink", map[string]bool{}) {
			switch {
			case !declared[n]:
				l.errAt(list.FullKey, *list, false, "sink %q is not declared in %s.sinks%s", n, l.agent, didYouMean(n, l.listed["sinks"]))
			case inGroup[n].FullKey != "":
				g := inGroup[n]
				l.errAt(list.FullKey, *list, false, "sink %q is already in another sink group (%s at %s); a sink can be in one group only", n, g.FullKey, g.Where())
			default:
				inGroup[n] = *list
				c.Sinks = append(c.Sinks, n)
			}
		}
	}
	l.leftovers(c, miss)
}

// nearMiss returns the target that s looks like a misspelling of: one
// edit (a swap of neighbours counts as one) for short words, two for
// longer ones.
func nearMiss(s string, targets []string) (string, bool) {
	ls := strings.ToLower(s)
	best, bestD := "", 1<<30
	for _, t := range targets {
		if ls == t {
			return "", false
		}
		if d := osa(ls, t); d < bestD {
			best, bestD = t, d
		}
	}
	limit := 1
	if len(best) > 5 {
		limit = 2
	}
	return best, best != "" && bestD <= limit
}

// osa is the optimal string alignment distance (Levenshtein plus
// transpositions of adjacent characters).
func osa(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
