package conf

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Prop is one property of a component: its key relative to the component
// ("max-line-length"), the full key as written ("a1.sources.r1.max-line-length")
// and where it was written.
type Prop struct {
	Key     string
	FullKey string
	Value   string
	File    string
	Line    int
}

// Where renders "file:line" (or "command line" for -D overrides).
func (p Prop) Where() string {
	if p.File == "" {
		return "command line"
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Error is one configuration problem, positioned.
type Error struct {
	Key  string // full key, may be empty for file-level problems
	File string
	Line int
	Msg  string
	// Warning marks problems that do not stop the agent (unknown keys).
	Warning bool
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteByte(' ')
	}
	if e.File != "" {
		fmt.Fprintf(&b, "(%s:%d)", e.File, e.Line)
	} else if e.Key != "" {
		b.WriteString("(command line)")
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func propErr(p Prop, format string, args ...any) *Error {
	return &Error{Key: p.FullKey, File: p.File, Line: p.Line, Msg: fmt.Sprintf(format, args...)}
}

// Field describes one property of a config struct, read from its tags:
//
//	flume:"key"        the property name; "prefix.*" on a map[string]string
//	                   collects every key under prefix (map key = the rest);
//	                   "*" collects every key no other field takes
//	default from the struct returned by the spec's Config()
//	doc:"..."          one line for the docs
//	required:"true"    the property must be set
//	unit:"ms"|"s"      for time.Duration: the unit of a bare number
//	sep:","            for []string: the separator (default: whitespace)
//	alias:"k2,k3"      other accepted spellings (Flume's docs and code disagree)
type Field struct {
	Key      string
	Aliases  []string
	Doc      string
	Required bool
	Unit     string
	Sep      string
	Prefix   bool
	Type     string // human-readable type for docs
	Default  string
	index    []int
}

// Fields lists the properties of a config struct pointer, with the defaults
// the struct currently holds.
func Fields(cfg any) []Field {
	if cfg == nil {
		return nil
	}
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	var out []Field
	collectFields(v.Elem(), nil, &out)
	return out
}

func collectFields(v reflect.Value, index []int, out *[]Field) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		idx := append(append([]int(nil), index...), i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct && sf.Tag.Get("flume") == "" {
			collectFields(v.Field(i), idx, out)
			continue
		}
		key := sf.Tag.Get("flume")
		if key == "" || !sf.IsExported() {
			continue
		}
		f := Field{Key: key, Doc: sf.Tag.Get("doc"), Required: sf.Tag.Get("required") == "true",
			Unit: sf.Tag.Get("unit"), Sep: sf.Tag.Get("sep"), index: idx}
		if a := sf.Tag.Get("alias"); a != "" {
			f.Aliases = strings.Split(a, ",")
		}
		fv := v.Field(i)
		if key == "*" || strings.HasSuffix(key, ".*") {
			f.Prefix = true
			f.Key = strings.TrimSuffix(key, "*")
			f.Type = "map"
		} else {
			f.Type, f.Default = describe(fv, f)
		}
		*out = append(*out, f)
	}
}

var durationType = reflect.TypeOf(time.Duration(0))

func describe(v reflect.Value, f Field) (typ, def string) {
	switch {
	case v.Type() == durationType:
		d := time.Duration(v.Int())
		switch f.Unit {
		case "s":
			return "duration (s)", strconv.FormatInt(int64(d/time.Second), 10)
		default:
			return "duration (ms)", strconv.FormatInt(int64(d/time.Millisecond), 10)
		}
	case v.Kind() == reflect.String:
		return "string", v.String()
	case v.Kind() == reflect.Bool:
		return "bool", strconv.FormatBool(v.Bool())
	case v.Kind() >= reflect.Int && v.Kind() <= reflect.Int64:
		return "integer", strconv.FormatInt(v.Int(), 10)
	case v.Kind() == reflect.Float64 || v.Kind() == reflect.Float32:
		return "number", strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		sep := " "
		if f.Sep != "" {
			sep = f.Sep
		}
		return "list", strings.Join(v.Interface().([]string), sep)
	}
	return v.Type().String(), fmt.Sprint(v.Interface())
}

// Validator is implemented by config structs with cross-field rules.
type Validator interface {
	Validate() error
}

// Decode sets the fields of cfg (a pointer to a config struct holding its
// defaults) from props. It returns every problem at once: values that do not
// parse, required keys that are missing, Validate's verdict, and (as
// warnings, with a did-you-mean) keys the struct does not know.
func Decode(cfg any, props []Prop) []*Error {
	var errs []*Error
	fields := Fields(cfg)
	root := reflect.ValueOf(cfg).Elem()
	seen := map[string]bool{}
	known := make([]string, 0, len(fields))
	for _, f := range fields {
		known = append(known, f.Key)
		known = append(known, f.Aliases...)
	}
	for _, p := range props {
		f, mapKey, ok := match(fields, p.Key)
		if !ok {
			e := propErr(p, "unknown property %q", p.Key)
			if s := Suggest(p.Key, known); s != "" {
				e.Msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			e.Warning = true
			errs = append(errs, e)
			continue
		}
		seen[f.Key] = true
		fv := root.FieldByIndex(f.index)
		if f.Prefix {
			if fv.IsNil() {
				fv.Set(reflect.MakeMap(fv.Type()))
			}
			fv.SetMapIndex(reflect.ValueOf(mapKey), reflect.ValueOf(p.Value))
			continue
		}
		if err := setValue(fv, f, p.Value); err != nil {
			errs = append(errs, propErr(p, "%v", err))
		}
	}
	for _, f := range fields {
		if f.Required && !seen[f.Key] {
			errs = append(errs, &Error{Key: f.Key, Msg: fmt.Sprintf("required property %q is missing", f.Key)})
		}
	}
	if len(errs) == 0 || allWarnings(errs) {
		valid := true
		if v, ok := cfg.(Validator); ok {
			if err := v.Validate(); err != nil {
				errs = append(errs, validationErrors(err, props, fields)...)
				valid = false
			}
		}
		if w, ok := cfg.(Warner); ok && valid {
			if ws := errors.Join(w.Warnings()...); ws != nil {
				for _, e := range validationErrors(ws, props, fields) {
					e.Warning = true
					errs = append(errs, e)
				}
			}
		}
	}
	return errs
}

// Warner is implemented by config structs that have warnings to give once
// they are valid: settings accepted but ignored, deprecated spellings,
// pass-through keys (kafka.consumer.*) the component does not know. Like
// Validate's errors, a PropError is placed at the property it names. They
// show in `sluice check` and at agent start, as unknown keys do.
type Warner interface {
	Warnings() []error
}

// validationErrors positions Validate's errors at the property they name,
// when a PropError says which, also where the user wrote one of the
// property's aliases (fields may be nil: exact keys only).
func validationErrors(err error, props []Prop, fields []Field) []*Error {
	var out []*Error
	for _, e := range joined(err, true, nil) {
		var pe *PropError
		if errors.As(e, &pe) {
			found := false
			for i := len(props) - 1; i >= 0; i-- {
				if spells(fields, pe.Key, props[i].Key) {
					out = append(out, propErr(props[i], "%s", pe.Msg))
					found = true
					break
				}
			}
			if !found {
				out = append(out, &Error{Key: pe.Key, Msg: pe.Msg})
			}
			continue
		}
		out = append(out, &Error{Msg: e.Error()})
	}
	return out
}

// joined lists the errors err joins, opening the joins nested in it too (a
// Validate that joins an embedded config's Validate), so each is positioned
// on its own. A nested error that adds text of its own around what it wraps
// (fmt.Errorf with several %w) stays whole.
func joined(err error, top bool, out []error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return append(out, err)
	}
	list := j.Unwrap()
	if !top {
		msgs := make([]string, len(list))
		for i, e := range list {
			msgs[i] = e.Error()
		}
		if err.Error() != strings.Join(msgs, "\n") {
			return append(out, err)
		}
	}
	for _, e := range list {
		out = joined(e, false, out)
	}
	return out
}

// Position turns an error returned by a component (Validate or New) into
// positioned errors: a PropError is placed at the property it names, others
// keep only their message.
func Position(err error, props []Prop) []*Error {
	return validationErrors(err, props, nil)
}

// spells reports whether key, as written, is the property named canonical
// or one of its aliases.
func spells(fields []Field, canonical, key string) bool {
	if key == canonical {
		return true
	}
	for _, f := range fields {
		if f.Key == canonical {
			for _, a := range f.Aliases {
				if a == key {
					return true
				}
			}
		}
	}
	return false
}

// PropError is what a config's Validate returns to blame one property; the
// decoder adds the file and line.
type PropError struct {
	Key string
	Msg string
}

func (e *PropError) Error() string { return e.Key + ": " + e.Msg }

// Invalid returns a PropError for key.
func Invalid(key, format string, args ...any) error {
	return &PropError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

func allWarnings(errs []*Error) bool {
	for _, e := range errs {
		if !e.Warning {
			return false
		}
	}
	return true
}

// match finds the field for key: an exact key or alias first, else the
// longest prefix, so that a "kafka.*" map does not swallow "kafka.topic"
// whatever the order of the struct's fields.
func match(fields []Field, key string) (Field, string, bool) {
	for _, f := range fields {
		if f.Prefix {
			continue
		}
		if f.Key == key {
			return f, "", true
		}
		for _, a := range f.Aliases {
			if a == key {
				return f, "", true
			}
		}
	}
	best := -1
	for i, f := range fields {
		if f.Prefix && strings.HasPrefix(key, f.Key) && len(key) > len(f.Key) &&
			(best < 0 || len(f.Key) > len(fields[best].Key)) {
			best = i
		}
	}
	if best < 0 {
		return Field{}, "", false
	}
	return fields[best], key[len(fields[best].Key):], true
}

func setValue(fv reflect.Value, f Field, raw string) error {
	s := strings.TrimSpace(raw)
	switch {
	case fv.Type() == durationType:
		d, err := ParseDuration(s, f.Unit)
		if err != nil {
			return err
		}
		fv.SetInt(int64(d))
	case fv.Kind() == reflect.String:
		fv.SetString(s)
	case fv.Kind() == reflect.Bool:
		b, err := ParseBool(s)
		if err != nil {
			return err
		}
		fv.SetBool(b)
	case fv.Kind() >= reflect.Int && fv.Kind() <= reflect.Int64:
		bits := fv.Type().Bits()
		n, err := strconv.ParseInt(s, 10, bits)
		if errors.Is(err, strconv.ErrRange) {
			lo := int64(-1) << (bits - 1)
			return fmt.Errorf("%q is out of range: it must be between %d and %d", s, lo, -(lo + 1))
		}
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		fv.SetInt(n)
	case fv.Kind() == reflect.Float64 || fv.Kind() == reflect.Float32:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		fv.SetFloat(n)
	case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
		var parts []string
		if f.Sep != "" {
			for _, p := range strings.Split(s, f.Sep) {
				if p = strings.TrimSpace(p); p != "" {
					parts = append(parts, p)
				}
			}
		} else {
			parts = strings.Fields(s)
		}
		fv.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("unsupported field type %s", fv.Type())
	}
	return nil
}

// ParseBool accepts what Java's Boolean.parseBoolean treats as true, and
// rejects anything that is neither true nor false, instead of silently
// reading it as false.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", s)
}

// ParseDuration reads a bare number in unit ("ms" by default, or "s"), or a
// Go duration such as "1500ms" or "2s". Negative durations, and numbers
// too large for a time.Duration, are errors rather than wrapped values.
func ParseDuration(s, unit string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	per, name := time.Millisecond, "milliseconds"
	if unit == "s" {
		per, name = time.Second, "seconds"
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if n < 0 {
			return 0, fmt.Errorf("%q is negative", s)
		}
		if most := int64(math.MaxInt64 / per); err != nil || n > most {
			return 0, fmt.Errorf("%q is too large: the most is %d %s", s, most, name)
		}
		return time.Duration(n) * per, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number of %s", s, name)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// Suggest returns the candidate closest to s by edit distance, if it is
// close enough to be a likely typo.
func Suggest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := levenshtein(ls, strings.ToLower(c))
		if d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	limit := len(s)/3 + 1
	if limit > 4 {
		limit = 4
	}
	if bestD <= limit {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// SortErrors orders problems by file and line, for a stable report.
func SortErrors(errs []*Error) {
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].File != errs[j].File {
			return errs[i].File < errs[j].File
		}
		return errs[i].Line < errs[j].Line
	})
}
