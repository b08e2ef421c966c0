package avro

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/sluiceio/sluice/internal/avroipc"
	"github.com/sluiceio/sluice/sluicetest"
)

func verdict(t *testing.T, f *ipFilter, addr string) bool {
	t.Helper()
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ok, _ := f.allow(a)
	return ok
}

// The first rule that matches decides, whatever follows; a name rule
// matches the reverse-DNS name (or, when there is none, the address as
// text, as Java's getHostName falls back to it), an ip rule only the
// address.
func TestIPFilterRuleOrderAndKinds(t *testing.T) {
	names := map[string][]string{"192.0.2.1": {"web1.example.com."}}
	lookup := func(_ context.Context, addr string) ([]string, error) {
		if n, ok := names[addr]; ok {
			return n, nil
		}
		return nil, errors.New("no PTR record")
	}
	for _, tc := range []struct {
		rules string
		addr  string
		allow bool
	}{
		{"allow:ip:192.0.2.*,deny:ip:*", "192.0.2.1:1", true},
		{"deny:ip:*,allow:ip:192.0.2.*", "192.0.2.1:1", false}, // same rules, other order
		{"deny:ip:192.0.2.1,allow:ip:192.0.2.*", "192.0.2.1:1", false},
		{"deny:ip:192.0.2.1,allow:ip:192.0.2.*", "192.0.2.2:1", true},
		{"deny:name:web1.example.com,allow:ip:*", "192.0.2.1:1", false},
		{"allow:ip:*,deny:name:web1.example.com", "192.0.2.1:1", true},
		{"deny:ip:web1.example.com", "192.0.2.1:1", true},   // an ip rule never sees the name
		{"deny:name:192.0.2.1", "192.0.2.1:1", true},        // it has a name: the address is not it
		{"deny:name:198.51.100.*", "198.51.100.7:1", false}, // no name: the address stands in
		{"deny:ip:192.0.2.1", "192.0.2.10:1", true},         // whole-address match only
		{"deny:ip:192.0.2.?", "192.0.2.10:1", true},         // ? is one character
		{"deny:ip:192.0.2.1?", "192.0.2.10:1", false},
		{"deny:ip:192.0.2.[0-9]+", "192.0.2.10:1", false},          // the rest is regular expression syntax
		{"deny:ip:2001:db8::*", "[2001:db8::5]:1", false},          // IPv6, Go's short form
		{"deny:ip:2001:db8:0:0:0:0:0:5", "[2001:db8::5]:1", false}, // and Java's long form
		{"deny:ip:2001:db8:0:0:0:0:0:6", "[2001:db8::5]:1", true},
		{"deny:ip:127.0.0.1", "[::ffff:127.0.0.1]:1", false}, // IPv4-mapped counts as IPv4
		{"deny:ip:10.*", "192.0.2.1:1", true},                // no rule matches: accepted
	} {
		rules, err := parseRules(tc.rules)
		if err != nil {
			t.Fatalf("%q: %v", tc.rules, err)
		}
		f := newIPFilter(rules)
		f.lookup = lookup
		if got := verdict(t, f, tc.addr); got != tc.allow {
			t.Errorf("%q from %s: allowed %v, want %v", tc.rules, tc.addr, got, tc.allow)
		}
	}
}

// Rules that are not allow|deny:ip|name:<pattern> are configuration errors
// naming the rule, as in Flume (which also refuses them at configure).
func TestIPFilterBadRules(t *testing.T) {
	for rules, want := range map[string]string{
		"":                        "ipFilterRules is empty",
		"   ":                     "ipFilterRules is empty",
		"allow:ip":                `rule "allow:ip" should look like <allow|deny>:<ip|name>:<pattern>`,
		"Allow:ip:*":              `rule "Allow:ip:*"`,
		"allow:IP:*":              `rule "allow:IP:*"`,
		"permit:ip:*":             `rule "permit:ip:*"`,
		"allow:host:*":            `rule "allow:host:*"`,
		"allow:ip:*,":             `rule ""`,
		"allow:ip:*,,deny:ip:*":   `rule ""`,
		"allow:ip:(10|11.*":       `rule "allow:ip:(10|11.*": pattern`,
		"deny:name:*.x,allow:y:z": `rule "allow:y:z"`,
	} {
		_, err := parseRules(rules)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", rules, err, want)
		}
	}
}

// Over a real IPv6 connection: a deny rule in Java's long form refuses ::1,
// the refusal is logged with the rule; an allow rule in front lets it in.
func TestIPFilterIPv6Connection(t *testing.T) {
	if l, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	} else {
		l.Close()
	}
	for _, tc := range []struct {
		rules string
		allow bool
	}{
		{"deny:ip:0:0:0:0:0:0:0:1,allow:ip:*", false},
		{"allow:ip:::1,deny:ip:0:0:0:0:0:0:0:1", true},
		{"allow:name:localhost,deny:ip:*", true},
	} {
		proc := sluicetest.NewProcessor()
		f := start(t, proc, map[string]string{"bind": "::1", "ipFilter": "true", "ipFilterRules": tc.rules})
		c, err := avroipc.Dial(context.Background(), f.addr, avroipc.DialOptions{})
		if err == nil {
			err = c.AppendBatch(context.Background(), events(1, "v6"))
			c.Close()
		}
		if tc.allow != (err == nil) {
			t.Errorf("%q: err %v, want allowed %v", tc.rules, err, tc.allow)
		}
		if !tc.allow {
			f.log.waitLog(t, "refused by ipFilterRules", "remote=[::1]:", "0:0:0:0:0:0:0:1")
		}
	}
}
