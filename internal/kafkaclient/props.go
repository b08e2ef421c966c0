// Package kafkaclient is what Sluice's Kafka source, sink and channel share:
// the common typed configuration, the mapping of the Kafka Java client's
// properties (which Flume users pass as kafka.producer.* and
// kafka.consumer.*) onto franz-go options, security (TLS and SASL), Flume's
// Avro event format for record values, error classification and a bounded
// connectivity check.
package kafkaclient

import (
	"errors"
	"fmt"
	"github.com/sluiceio/sluice/conf"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Common is the part of every Kafka component's configuration that is the
// same for all of them; embed it in the component's Config.
type Common struct {
	BootstrapServers string `flume:"kafka.bootstrap.servers" required:"true" doc:"comma-separated host:port list of Kafka brokers to bootstrap from"`
}

// Seeds splits kafka.bootstrap.servers into host:port entries.
func (c *Common) Seeds() []string {
	var out []string
	for _, s := range strings.Split(c.BootstrapServers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Validate checks kafka.bootstrap.servers.
func (c *Common) Validate() error {
	seeds := c.Seeds()
	if len(seeds) == 0 {
		return conf.Invalid("kafka.bootstrap.servers", "%q holds no host:port", c.BootstrapServers)
	}
	for _, s := range seeds {
		i := strings.LastIndexByte(s, ':')
		if i <= 0 {
			return conf.Invalid("kafka.bootstrap.servers", "%q is not host:port", s)
		}
		if p, err := strconv.Atoi(s[i+1:]); err != nil || p < 1 || p > 65535 {
			return conf.Invalid("kafka.bootstrap.servers", "%q has no valid port", s)
		}
	}
	return nil
}

// secret reports whether a property's value must never be shown: passwords
// and the JAAS configuration, which holds the SASL credentials.
func secret(key string) bool {
	k := strings.ToLower(key)
	return strings.Contains(k, "password") || strings.Contains(k, "jaas") || strings.Contains(k, "secret")
}

// props reads one role's map of Java client properties, remembering which
// keys were used so the rest can be reported as unknown.
type props struct {
	prefix string // "kafka.producer." or "kafka.consumer.", for messages
	m      map[string]string
	used   map[string]bool
	warn   []string
	errs   []error
}

// newProps copies m, so that filling defaults never changes the caller's map.
func newProps(prefix string, m map[string]string) *props {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return &props{prefix: prefix, m: c, used: map[string]bool{}}
}

func (p *props) name(key string) string { return p.prefix + key }

// get returns a trimmed value and whether the key was set.
func (p *props) get(key string) (string, bool) {
	v, ok := p.m[key]
	if ok {
		p.used[key] = true
	}
	return strings.TrimSpace(v), ok
}

// bad records an error naming the property; its value is quoted unless it
// is a secret.
func (p *props) bad(key, value, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if secret(key) {
		p.errs = append(p.errs, conf.Invalid(p.name(key), "%s", msg))
		return
	}
	p.errs = append(p.errs, conf.Invalid(p.name(key), "%q %s", value, msg))
}

func (p *props) warnf(format string, args ...any) {
	p.warn = append(p.warn, fmt.Sprintf(format, args...))
}

// ignore accepts keys that have no effect in Sluice, with a warning each.
func (p *props) ignore(why string, keys ...string) {
	for _, k := range keys {
		if _, ok := p.get(k); ok {
			p.warnf("%s is accepted and ignored: %s", p.name(k), why)
		}
	}
}

func (p *props) int64(key string, min, max int64) (int64, bool) {
	v, ok := p.get(key)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		p.bad(key, v, "is not a whole number")
		return 0, false
	}
	if n < min || n > max {
		p.bad(key, v, "is out of range (%d to %d)", min, max)
		return 0, false
	}
	return n, true
}

func (p *props) int32(key string, min, max int32) (int32, bool) {
	n, ok := p.int64(key, int64(min), int64(max))
	return int32(n), ok
}

func (p *props) millis(key string, min int64) (time.Duration, bool) {
	n, ok := p.int64(key, min, 1<<40)
	return time.Duration(n) * time.Millisecond, ok
}

func (p *props) bool(key string) (val, set bool) {
	v, ok := p.get(key)
	if !ok {
		return false, false
	}
	switch strings.ToLower(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	p.bad(key, v, "is not true or false")
	return false, false
}

// oneOf returns the value upper- or lower-cased by norm if it is one of
// allowed; def when unset.
func (p *props) oneOf(key, def string, norm func(string) string, allowed ...string) string {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	n := norm(v)
	if !slices.Contains(allowed, n) {
		p.bad(key, v, "is not one of %s", strings.Join(allowed, ", "))
		return def
	}
	return n
}

// unknown turns every key not read into a warning, sorted for stable
// output. Only key names are shown, never values.
func (p *props) unknown() {
	var keys []string
	for k := range p.m {
		if !p.used[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		p.warnf("%s is not a Kafka client property Sluice knows; ignored", p.name(k))
	}
}

// WarningErrors turns the warnings of ProducerOpts or ConsumerOpts into
// errors for a config's Warnings (conf.Warner): one naming a property is a
// conf.PropError on it, so `sluice check` shows it at its line.
func WarningErrors(warns []string) []error {
	out := make([]error, 0, len(warns))
	for _, w := range warns {
		if key, rest, ok := strings.Cut(w, " "); ok && (strings.HasPrefix(key, "kafka.producer.") || strings.HasPrefix(key, "kafka.consumer.")) {
			out = append(out, conf.Invalid(key, "%s", rest))
			continue
		}
		out = append(out, errors.New(w))
	}
	return out
}
