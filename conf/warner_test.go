package conf

import (
	"strings"
	"testing"
)

type warnCfg struct {
	Name string            `flume:"name" doc:"x"`
	More map[string]string `flume:"more.*" doc:"x"`
	bad  bool
}

func (c *warnCfg) Validate() error {
	if c.bad {
		return Invalid("name", "bad")
	}
	return nil
}

func (c *warnCfg) Warnings() []error {
	var out []error
	for k := range c.More {
		out = append(out, Invalid("more."+k, "is ignored"))
	}
	return out
}

// A Warner's warnings are positioned warnings, given only when Validate
// passed.
func TestWarnerWarningsArePositioned(t *testing.T) {
	props := []Prop{
		{Key: "name", FullKey: "a1.sinks.k1.name", Value: "n", File: "f.conf", Line: 3},
		{Key: "more.x", FullKey: "a1.sinks.k1.more.x", Value: "1", File: "f.conf", Line: 4},
	}
	errs := Decode(&warnCfg{}, props)
	if len(errs) != 1 || !errs[0].Warning || !strings.Contains(errs[0].Error(), "a1.sinks.k1.more.x (f.conf:4): is ignored") {
		t.Fatalf("got %v", errs)
	}
	errs = Decode(&warnCfg{bad: true}, props)
	if len(errs) != 1 || errs[0].Warning {
		t.Fatalf("a config that fails Validate gave warnings too: %v", errs)
	}
}
