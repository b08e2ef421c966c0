package avro

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// ipRule is one of Flume's ipFilterRules: allow|deny : ip|name : pattern.
type ipRule struct {
	allow     bool
	name      bool // match the peer's reverse-DNS name, not its address
	localhost bool // the pattern "name:localhost": the local machine's addresses
	re        *regexp.Regexp
	text      string
}

// parseRules reads ipFilterRules: comma-separated rules, first match wins.
// Patterns become regular expressions as Flume's PatternRule makes them:
// "." is literal, "*" any run, "?" one character, anything else is regex
// syntax; the whole address or name must match.
func parseRules(def string) ([]ipRule, error) {
	if strings.TrimSpace(def) == "" {
		return nil, fmt.Errorf("ipFilter is true but ipFilterRules is empty")
	}
	var rules []ipRule
	for _, raw := range strings.Split(def, ",") {
		r := strings.TrimSpace(raw)
		access, rest, ok1 := strings.Cut(r, ":")
		kind, pattern, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 || (access != "allow" && access != "deny") || (kind != "ip" && kind != "name") {
			return nil, fmt.Errorf("rule %q should look like <allow|deny>:<ip|name>:<pattern>", r)
		}
		rule := ipRule{allow: access == "allow", name: kind == "name", text: r}
		pattern = strings.TrimSpace(pattern)
		if rule.name && pattern == "localhost" {
			rule.localhost = true
			rules = append(rules, rule)
			continue
		}
		if pattern == "" {
			// Flume's rule with an empty pattern never matches.
			rules = append(rules, rule)
			continue
		}
		expr := strings.NewReplacer(".", `\.`, "*", ".*", "?", ".").Replace(pattern)
		re, err := regexp.Compile("^(?:" + expr + ")$")
		if err != nil {
			return nil, fmt.Errorf("rule %q: pattern: %w", r, err)
		}
		rule.re = re
		rules = append(rules, rule)
	}
	return rules, nil
}

// ipFilter decides whether a peer may connect. Reverse DNS is asked only
// when a name rule is reached, once per connection.
type ipFilter struct {
	rules  []ipRule
	lookup func(ctx context.Context, addr string) ([]string, error)

	localOnce sync.Once
	local     map[netip.Addr]bool
}

func newIPFilter(rules []ipRule) *ipFilter {
	return &ipFilter{rules: rules, lookup: net.DefaultResolver.LookupAddr}
}

// allow returns the verdict and the rule that decided it ("" when no rule
// matched: Flume accepts).
func (f *ipFilter) allow(addr net.Addr) (bool, string) {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return true, ""
	}
	ip := ap.Addr().Unmap()
	texts := ipTexts(ip)
	var names []string
	looked := false
	for _, r := range f.rules {
		var hit bool
		switch {
		case r.localhost:
			hit = f.isLocal(ip)
		case r.re == nil:
		case r.name:
			if !looked {
				names, looked = f.names(ip), true
			}
			hit = anyMatch(r.re, names)
		default:
			hit = anyMatch(r.re, texts)
		}
		if hit {
			return r.allow, r.text
		}
	}
	return true, ""
}

// ipTexts are the ways the address may be written: Go's form and, for
// IPv6, Java's getHostAddress form (no "::" compression), which Flume's
// patterns were written against.
func ipTexts(ip netip.Addr) []string {
	if ip.Is4() {
		return []string{ip.String()}
	}
	b := ip.As16()
	parts := make([]string, 8)
	for i := range parts {
		parts[i] = fmt.Sprintf("%x", uint16(b[2*i])<<8|uint16(b[2*i+1]))
	}
	return []string{ip.WithZone("").String(), strings.Join(parts, ":")}
}

func anyMatch(re *regexp.Regexp, ss []string) bool {
	for _, s := range ss {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// names are the peer's reverse-DNS names, or its address when it has none
// (as Java's getHostName falls back to the address).
func (f *ipFilter) names(ip netip.Addr) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	names, err := f.lookup(ctx, ip.String())
	var out []string
	if err == nil {
		for _, n := range names {
			out = append(out, strings.TrimSuffix(n, "."))
		}
	}
	if len(out) == 0 {
		out = ipTexts(ip)
	}
	return out
}

// isLocal is Flume's "localhost": 127.0.0.1 or the address of this host's
// name; ::1 counts too.
func (f *ipFilter) isLocal(ip netip.Addr) bool {
	f.localOnce.Do(func() {
		f.local = map[netip.Addr]bool{
			netip.MustParseAddr("127.0.0.1"): true,
			netip.IPv6Loopback():             true,
		}
		host, err := os.Hostname()
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		addrs, _ := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		for _, a := range addrs {
			f.local[a.Unmap()] = true
		}
	})
	return f.local[ip]
}
