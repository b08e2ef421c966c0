package conf

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// props turns "key = value" lines into the properties of component
// a1.sources.r1, line i of the slice being line i+1 of "test.conf".
func props(lines ...string) []Prop {
	out := make([]Prop, len(lines))
	for i, l := range lines {
		k, v, _ := strings.Cut(l, "=")
		k = strings.TrimSpace(k)
		out[i] = Prop{Key: k, FullKey: "a1.sources.r1." + k, Value: strings.TrimSpace(v), File: "test.conf", Line: i + 1}
	}
	return out
}

type Base struct {
	Shared string `flume:"shared" doc:"from an embedded struct"`
}

// kitchen has one field of every supported type.
type kitchen struct {
	Base
	Name    string            `flume:"name" doc:"a name"`
	On      bool              `flume:"on" doc:"a switch"`
	Count   int               `flume:"count" alias:"cnt,number" doc:"an int with two other spellings"`
	Small   int8              `flume:"small"`
	Medium  int32             `flume:"medium"`
	Big     int64             `flume:"big"`
	Ratio   float64           `flume:"ratio"`
	Wait    time.Duration     `flume:"wait" doc:"bare numbers are milliseconds"`
	WaitS   time.Duration     `flume:"waitS" unit:"s" doc:"bare numbers are seconds"`
	Hosts   []string          `flume:"hosts"`
	Topics  []string          `flume:"topics" sep:","`
	Extra   map[string]string `flume:"extra.*" doc:"extra.<k> = v"`
	Path    string            `flume:"path" required:"true" doc:"must be set"`
	hidden  int               `flume:"hidden"` //nolint:unused // unexported fields are ignored
	NotConf int               // untagged fields are ignored
}

func newKitchen() *kitchen {
	return &kitchen{Name: "n", Count: 7, Wait: 1500 * time.Millisecond, WaitS: 30 * time.Second,
		Hosts: []string{"a", "b"}, Topics: []string{"t1", "t2"}, Ratio: 0.5}
}

func TestDecodeEveryFieldType(t *testing.T) {
	cfg := newKitchen()
	errs := Decode(cfg, props(
		"shared = s",
		"name =  hello world ",
		"on = TRUE",
		"count = -12",
		"small = 127",
		"medium = -2147483648",
		"big = 9223372036854775807",
		"ratio = 2.5e-3",
		"wait = 250",
		"waitS = 3",
		"hosts =  h1   h2\th3 ",
		"topics = x, y ,,z ",
		"extra.a = 1",
		"extra.b.c = 2",
		"path = /tmp",
	))
	if len(errs) != 0 {
		t.Fatalf("unexpected problems: %v", errs)
	}
	want := &kitchen{
		Base: Base{Shared: "s"}, Name: "hello world", On: true, Count: -12, Small: 127, Medium: math.MinInt32,
		Big: math.MaxInt64, Ratio: 0.0025, Wait: 250 * time.Millisecond, WaitS: 3 * time.Second,
		Hosts: []string{"h1", "h2", "h3"}, Topics: []string{"x", "y", "z"},
		Extra: map[string]string{"a": "1", "b.c": "2"}, Path: "/tmp",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", cfg, want)
	}
}

func TestDecodeKeepsDefaults(t *testing.T) {
	cfg := newKitchen()
	if errs := Decode(cfg, props("path = p")); len(errs) != 0 {
		t.Fatal(errs)
	}
	want := newKitchen()
	want.Path = "p"
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults changed: %+v", cfg)
	}
}

func TestDecodeValues(t *testing.T) {
	cases := []struct {
		line string
		get  func(*kitchen) any
		want any
		err  string
	}{
		// bool: true and false in any case, nothing else.
		{"on = true", func(k *kitchen) any { return k.On }, true, ""},
		{"on = False", func(k *kitchen) any { return k.On }, false, ""},
		{"on = yes", nil, nil, `"yes" is not true or false`},
		{"on = 1", nil, nil, `"1" is not true or false`},
		{"on = t", nil, nil, `"t" is not true or false`},
		// ints: base 10 only, within the field's size.
		{"count = +5", func(k *kitchen) any { return k.Count }, 5, ""},
		{"count = 0x10", nil, nil, `"0x10" is not a whole number`},
		{"count = 1_000", nil, nil, `"1_000" is not a whole number`},
		{"count = 1.0", nil, nil, `"1.0" is not a whole number`},
		{"count = 10 000", nil, nil, `"10 000" is not a whole number`},
		{"small = -128", func(k *kitchen) any { return k.Small }, int8(-128), ""},
		{"small = 128", nil, nil, `"128" is out of range: it must be between -128 and 127`},
		{"medium = 2147483648", nil, nil, `"2147483648" is out of range: it must be between -2147483648 and 2147483647`},
		{"big = 9223372036854775808", nil, nil, `"9223372036854775808" is out of range: it must be between -9223372036854775808 and 9223372036854775807`},
		// floats.
		{"ratio = 3", func(k *kitchen) any { return k.Ratio }, 3.0, ""},
		{"ratio = .25", func(k *kitchen) any { return k.Ratio }, 0.25, ""},
		{"ratio = half", nil, nil, `"half" is not a number`},
		// durations: a bare number in the field's unit, or a Go duration.
		{"wait = 0", func(k *kitchen) any { return k.Wait }, time.Duration(0), ""},
		{"wait = 1500ms", func(k *kitchen) any { return k.Wait }, 1500 * time.Millisecond, ""},
		{"wait = 2s", func(k *kitchen) any { return k.Wait }, 2 * time.Second, ""},
		{"wait = 1m30s", func(k *kitchen) any { return k.Wait }, 90 * time.Second, ""},
		{"waitS = 2", func(k *kitchen) any { return k.WaitS }, 2 * time.Second, ""},
		{"waitS = 200ms", func(k *kitchen) any { return k.WaitS }, 200 * time.Millisecond, ""},
		{"wait = soon", nil, nil, `"soon" is not a number of milliseconds`},
		{"waitS = soon", nil, nil, `"soon" is not a number of seconds`},
		{"wait = 1.5", nil, nil, `"1.5" is not a number of milliseconds`},
		{"wait = -1", nil, nil, `"-1" is negative`},
		{"wait = -1s", nil, nil, `"-1s" is negative`},
		// lists: blanks by default; with sep, pieces are trimmed and empty ones dropped.
		{"hosts = one", func(k *kitchen) any { return k.Hosts }, []string{"one"}, ""},
		{"hosts = a,b c", func(k *kitchen) any { return k.Hosts }, []string{"a,b", "c"}, ""},
		{"topics = a b, c", func(k *kitchen) any { return k.Topics }, []string{"a b", "c"}, ""},
		{"topics = ,", func(k *kitchen) any { return k.Topics }, []string(nil), ""},
		// aliases set the same field.
		{"cnt = 3", func(k *kitchen) any { return k.Count }, 3, ""},
		{"number = 4", func(k *kitchen) any { return k.Count }, 4, ""},
		{"cnt = x", nil, nil, `"x" is not a whole number`},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			cfg := newKitchen()
			errs := Decode(cfg, props("path = p", tc.line))
			if tc.err == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected problems: %v", errs)
				}
				if got := tc.get(cfg); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("got %#v, want %#v", got, tc.want)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("want one error, got %v", errs)
			}
			key := strings.TrimSpace(strings.Split(tc.line, "=")[0])
			want := Error{Key: "a1.sources.r1." + key, File: "test.conf", Line: 2, Msg: tc.err}
			if *errs[0] != want {
				t.Errorf("got  %+v\nwant %+v", *errs[0], want)
			}
		})
	}
}

func TestDecodeRequired(t *testing.T) {
	errs := Decode(newKitchen(), props("name = x"))
	if len(errs) != 1 {
		t.Fatalf("want one error, got %v", errs)
	}
	// The decoder knows no position for an absent key: the caller (the
	// agent builder) prefixes the key and points at the type line.
	want := Error{Key: "path", Msg: `required property "path" is missing`}
	if *errs[0] != want {
		t.Errorf("got %+v, want %+v", *errs[0], want)
	}
	if errs[0].Warning {
		t.Error("a missing required property must be an error")
	}
}

func TestDecodeUnknownKeys(t *testing.T) {
	cases := []struct{ key, msg string }{
		{"nmae", `unknown property "nmae" (did you mean "name"?)`},
		{"Count", `unknown property "Count" (did you mean "count"?)`}, // keys are case-sensitive, as in Flume
		{"wiat", `unknown property "wiat" (did you mean "wait"?)`},
		{"cnts", `unknown property "cnts" (did you mean "cnt"?)`}, // aliases are suggested too
		{"somethingElse", `unknown property "somethingElse"`},
		{"extra", `unknown property "extra" (did you mean "extra."?)`}, // a prefix needs a sub-key
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			cfg := newKitchen()
			errs := Decode(cfg, props("path = p", tc.key+" = 1"))
			if len(errs) != 1 {
				t.Fatalf("want one warning, got %v", errs)
			}
			want := Error{Key: "a1.sources.r1." + tc.key, File: "test.conf", Line: 2, Msg: tc.msg, Warning: true}
			if *errs[0] != want {
				t.Errorf("got  %+v\nwant %+v", *errs[0], want)
			}
			if cfg.Count != 7 || cfg.Name != "n" {
				t.Error("an unknown key changed a field")
			}
		})
	}
}

// ranged checks its fields in Validate the way components do.
type ranged struct {
	Lo    int               `flume:"lo" alias:"low"`
	Hi    int               `flume:"hi"`
	Level string            `flume:"level"`
	Map   map[string]string `flume:"map.*"`
	calls int
}

func (r *ranged) Validate() error {
	r.calls++
	var errs []error
	if r.Lo > r.Hi {
		errs = append(errs, Invalid("lo", "%q is above hi %d", fmt.Sprint(r.Lo), r.Hi))
	}
	if r.Level != "" && r.Level != "info" {
		errs = append(errs, Invalid("level", "%q is not a level", r.Level))
	}
	for k, v := range r.Map {
		if v == "bad" {
			errs = append(errs, Invalid("map."+k, "%q is bad", v))
		}
	}
	if r.Hi > 1000 {
		errs = append(errs, errors.New("hi is too large for this test"))
	}
	return errors.Join(errs...)
}

func TestDecodeValidatePositionsErrors(t *testing.T) {
	cfg := &ranged{Hi: 10}
	errs := Decode(cfg, props(
		"hi = 3",
		"level = loud",
		"lo = 5",
		"map.x = bad",
	))
	want := []Error{
		{Key: "a1.sources.r1.lo", File: "test.conf", Line: 3, Msg: `"5" is above hi 3`},
		{Key: "a1.sources.r1.level", File: "test.conf", Line: 2, Msg: `"loud" is not a level`},
		{Key: "a1.sources.r1.map.x", File: "test.conf", Line: 4, Msg: `"bad" is bad`},
	}
	if len(errs) != len(want) {
		t.Fatalf("got %v, want %d errors", errs, len(want))
	}
	for i := range want {
		if *errs[i] != want[i] {
			t.Errorf("error %d:\n got %+v\nwant %+v", i, *errs[i], want[i])
		}
	}
}

// outer embeds ranged and joins its Validate's errors with its own, as a
// component embedding a shared config struct does.
type outer struct {
	ranged
	Name string `flume:"name"`
}

func (o *outer) Validate() error {
	var errs []error
	if o.Name == "" {
		errs = append(errs, Invalid("name", "is empty"))
	}
	errs = append(errs, o.ranged.Validate(), fmt.Errorf("wrapped: %w and %w", errors.New("a"), errors.New("b")))
	return errors.Join(errs...)
}

func TestDecodeValidatePositionsNestedJoins(t *testing.T) {
	errs := Decode(&outer{ranged: ranged{Hi: 10}}, props("lo = 50", "level = loud"))
	want := []Error{
		{Key: "name", Msg: "is empty"},
		{Key: "a1.sources.r1.lo", File: "test.conf", Line: 1, Msg: `"50" is above hi 10`},
		{Key: "a1.sources.r1.level", File: "test.conf", Line: 2, Msg: `"loud" is not a level`},
		// An error with text of its own around what it wraps stays whole.
		{Msg: "wrapped: a and b"},
	}
	if len(errs) != len(want) {
		t.Fatalf("got %v, want %d errors", errs, len(want))
	}
	for i := range want {
		if *errs[i] != want[i] {
			t.Errorf("error %d:\n got %+v\nwant %+v", i, *errs[i], want[i])
		}
	}
}

func TestDecodeValidateLastWriteWins(t *testing.T) {
	// Two lines for one key can reach Decode when a later -f file overrides
	// an earlier one; the error points at the line that took effect.
	errs := Decode(&ranged{Hi: 10}, props("lo = 1", "lo = 50"))
	if len(errs) != 1 || errs[0].Line != 2 {
		t.Errorf("got %v, want one error at line 2", errs)
	}
}

func TestDecodeValidateAtAlias(t *testing.T) {
	// Validate names the canonical key; the user wrote the alias.
	errs := Decode(&ranged{Hi: 10}, props("low = 50"))
	want := Error{Key: "a1.sources.r1.low", File: "test.conf", Line: 1, Msg: `"50" is above hi 10`}
	if len(errs) != 1 || *errs[0] != want {
		t.Errorf("got %v, want %+v", errs, want)
	}
}

func TestDecodeValidateUnpositioned(t *testing.T) {
	// A rule broken by a default names the key but has no line; a plain
	// error has neither.
	errs := Decode(&ranged{Lo: 20, Hi: 10}, nil)
	if len(errs) != 1 || *errs[0] != (Error{Key: "lo", Msg: `"20" is above hi 10`}) {
		t.Errorf("got %v", errs)
	}
	errs = Decode(&ranged{Hi: 5000}, nil)
	if len(errs) != 1 || *errs[0] != (Error{Msg: "hi is too large for this test"}) {
		t.Errorf("got %v", errs)
	}
}

func TestDecodeValidateRunsOnlyOnCleanInput(t *testing.T) {
	cfg := &ranged{Hi: 10}
	errs := Decode(cfg, props("hi = x", "lo = 50"))
	if len(errs) != 1 || errs[0].Key != "a1.sources.r1.hi" {
		t.Errorf("got %v, want only the parse error", errs)
	}
	if cfg.calls != 0 {
		t.Error("Validate ran on a config with a parse error")
	}
	// Warnings do not stop it.
	cfg = &ranged{Hi: 10}
	errs = Decode(cfg, props("hj = 1", "lo = 50"))
	if cfg.calls != 1 || len(errs) != 2 || !errs[0].Warning || errs[1].Key != "a1.sources.r1.lo" {
		t.Errorf("got %v (Validate ran %d times)", errs, cfg.calls)
	}
}

func TestPositionErrorsFromNew(t *testing.T) {
	p := props("a = 1", "b = 2")
	err := fmt.Errorf("building: %w", errors.Join(Invalid("b", "no good"), errors.New("plain")))
	got := Position(err, p)
	// A wrapped join is one error: errors.As finds the PropError in it.
	if len(got) != 1 || got[0].Key != "a1.sources.r1.b" || got[0].Line != 2 || got[0].Msg != "no good" {
		t.Errorf("wrapped join: %v", got)
	}
	got = Position(errors.Join(Invalid("b", "no good"), errors.New("plain")), p)
	if len(got) != 2 || got[0].Line != 2 || *got[1] != (Error{Msg: "plain"}) {
		t.Errorf("join: %v", got)
	}
	if pe := Invalid("k", "%q bad", "v"); pe.Error() != `k: "v" bad` {
		t.Errorf("PropError text %q", pe.Error())
	}
}

// prefixFirst declares a prefix map before exact keys it overlaps.
type prefixFirst struct {
	All      map[string]string `flume:"kafka.*"`
	Producer map[string]string `flume:"kafka.producer.*"`
	Topic    string            `flume:"kafka.topic"`
}

func TestDecodeExactKeyBeatsPrefix(t *testing.T) {
	cfg := &prefixFirst{}
	if errs := Decode(cfg, props("kafka.topic = t", "kafka.producer.acks = all", "kafka.other = o")); len(errs) != 0 {
		t.Fatal(errs)
	}
	want := &prefixFirst{Topic: "t", Producer: map[string]string{"acks": "all"}, All: map[string]string{"other": "o"}}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got %+v, want %+v", cfg, want)
	}
}

func TestFields(t *testing.T) {
	got := Fields(newKitchen())
	type row struct {
		Key, Type, Default, Doc, Unit, Sep string
		Required, Prefix                   bool
		Aliases                            []string
	}
	want := []row{
		{Key: "shared", Type: "string", Doc: "from an embedded struct"},
		{Key: "name", Type: "string", Default: "n", Doc: "a name"},
		{Key: "on", Type: "bool", Default: "false", Doc: "a switch"},
		{Key: "count", Type: "integer", Default: "7", Doc: "an int with two other spellings", Aliases: []string{"cnt", "number"}},
		{Key: "small", Type: "integer", Default: "0"},
		{Key: "medium", Type: "integer", Default: "0"},
		{Key: "big", Type: "integer", Default: "0"},
		{Key: "ratio", Type: "number", Default: "0.5"},
		{Key: "wait", Type: "duration (ms)", Default: "1500", Doc: "bare numbers are milliseconds"},
		{Key: "waitS", Type: "duration (s)", Default: "30", Doc: "bare numbers are seconds", Unit: "s"},
		{Key: "hosts", Type: "list", Default: "a b"},
		{Key: "topics", Type: "list", Default: "t1,t2", Sep: ","},
		{Key: "extra.", Type: "map", Doc: "extra.<k> = v", Prefix: true},
		{Key: "path", Type: "string", Doc: "must be set", Required: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d fields, want %d: %+v", len(got), len(want), got)
	}
	for i, f := range got {
		r := row{f.Key, f.Type, f.Default, f.Doc, f.Unit, f.Sep, f.Required, f.Prefix, f.Aliases}
		if !reflect.DeepEqual(r, want[i]) {
			t.Errorf("field %d:\n got %+v\nwant %+v", i, r, want[i])
		}
	}
	if Fields(nil) != nil || Fields(kitchen{}) != nil || Fields(new(int)) != nil {
		t.Error("Fields of a nil, a struct value or a non-struct pointer must be nil")
	}
}

func TestParseBool(t *testing.T) {
	for in, want := range map[string]bool{"true": true, "TRUE": true, " True ": true, "false": false, "FALSE": false} {
		got, err := ParseBool(in)
		if err != nil || got != want {
			t.Errorf("ParseBool(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "yes", "no", "on", "1", "0", "tru", "truee"} {
		if _, err := ParseBool(in); err == nil {
			t.Errorf("ParseBool(%q) accepted", in)
		}
	}
}

func TestParseDuration(t *testing.T) {
	ok := []struct {
		in, unit string
		want     time.Duration
	}{
		{"0", "", 0},
		{"250", "", 250 * time.Millisecond},
		{"250", "ms", 250 * time.Millisecond},
		{" 7 ", "s", 7 * time.Second},
		{"+3", "s", 3 * time.Second},
		{"1.5s", "s", 1500 * time.Millisecond},
		{"1h", "ms", time.Hour},
		{"100us", "", 100 * time.Microsecond},
		{"9223372036854", "", 9223372036854 * time.Millisecond}, // the largest whole number of ms
		{"9223372036", "s", 9223372036 * time.Second},
	}
	for _, tc := range ok {
		got, err := ParseDuration(tc.in, tc.unit)
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q, %q) = %v, %v; want %v", tc.in, tc.unit, got, err, tc.want)
		}
	}
	bad := []struct{ in, unit, msg string }{
		{"", "", `"" is not a number of milliseconds`},
		{"x", "s", `"x" is not a number of seconds`},
		{"-1", "", `"-1" is negative`},
		{"-2s", "", `"-2s" is negative`},
		{"1.5", "s", `"1.5" is not a number of seconds`},
		{"10 s", "", `"10 s" is not a number of milliseconds`},
		{"9223372036855", "", `"9223372036855" is too large: the most is 9223372036854 milliseconds`},
		{"9223372037", "s", `"9223372037" is too large: the most is 9223372036 seconds`},
		{"99999999999999999999", "", `"99999999999999999999" is too large: the most is 9223372036854 milliseconds`},
		{"3000000h", "", `"3000000h" is not a number of milliseconds`}, // Go reports the overflow as invalid
	}
	for _, tc := range bad {
		_, err := ParseDuration(tc.in, tc.unit)
		if err == nil || err.Error() != tc.msg {
			t.Errorf("ParseDuration(%q, %q) error = %v, want %q", tc.in, tc.unit, err, tc.msg)
		}
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"capacity", "transactionCapacity", "keep-alive", "byteCapacity", "memory", "null"}
	cases := []struct{ in, want string }{
		{"capacty", "capacity"},
		{"CAPACITY", "capacity"}, // case does not count
		{"keepalive", "keep-alive"},
		{"transactioncapacity", "transactionCapacity"},
		{"nul", "null"},
		{"nulll", "null"},
		{"xyz", ""},
		{"capacityyyyyy", ""},     // 5 edits: over the cap of 4
		{"bytecapacityxxxxx", ""}, // 5 edits
		{"bytecapacityxxxx", "byteCapacity"},
		{"ab", ""},           // short words allow one edit only
		{"me", ""},           // "memory" is 4 away
		{"memoyr", "memory"}, // a swap is two edits, within len/3+1 = 3
		{"", ""},             // nothing is close to nothing
	}
	for _, tc := range cases {
		if got := Suggest(tc.in, names); got != tc.want {
			t.Errorf("Suggest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := Suggest("x", nil); got != "" {
		t.Errorf("Suggest with no candidates = %q", got)
	}
	// Ties go to the alphabetically first candidate, whatever the order.
	if a, b := Suggest("cat", []string{"cot", "bat"}), Suggest("cat", []string{"bat", "cot"}); a != "bat" || b != "bat" {
		t.Errorf("tie broken as %q and %q, want bat", a, b)
	}
}

func TestSortErrorsIsStableByFileAndLine(t *testing.T) {
	errs := []*Error{
		{Key: "c", File: "b.conf", Line: 1},
		{Key: "a", File: "a.conf", Line: 9},
		{Key: "x"}, // no file: first
		{Key: "b1", File: "a.conf", Line: 2},
		{Key: "b2", File: "a.conf", Line: 2},
	}
	SortErrors(errs)
	var keys []string
	for _, e := range errs {
		keys = append(keys, e.Key)
	}
	if got := strings.Join(keys, " "); got != "x b1 b2 a c" {
		t.Errorf("order %s", got)
	}
}

func TestErrorText(t *testing.T) {
	cases := []struct {
		e    Error
		want string
	}{
		{Error{Key: "a1.sources.r1.port", File: "f.conf", Line: 3, Msg: "bad"}, "a1.sources.r1.port (f.conf:3): bad"},
		{Error{Key: "a1.sources.r1.port", Msg: "bad"}, "a1.sources.r1.port (command line): bad"},
		{Error{File: "f.conf", Line: 3, Msg: "bad"}, "(f.conf:3): bad"},
		{Error{Msg: "bad"}, "bad"},
	}
	for _, tc := range cases {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	if w := (Prop{File: "f", Line: 2}).Where(); w != "f:2" {
		t.Errorf("Where = %q", w)
	}
	if w := (Prop{}).Where(); w != "command line" {
		t.Errorf("Where = %q", w)
	}
}
