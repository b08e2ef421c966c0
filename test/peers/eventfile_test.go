package peers

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestEventFileRoundTrip(t *testing.T) {
	in := []Event{
		{Headers: map[string]string{"b": "2", "a": "1", "ü": "ß"}, Body: []byte("hello")},
		{Headers: map[string]string{}, Body: []byte{0, 1, 2, 255}},
		{Headers: map[string]string{"empty": ""}, Body: []byte{}},
	}
	var buf bytes.Buffer
	if err := WriteEventFile(&buf, in); err != nil {
		t.Fatal(err)
	}
	// Fixed layout: magic, version 1, count 3.
	if got := buf.Bytes()[:12]; !bytes.Equal(got, []byte("FSND\x00\x00\x00\x01\x00\x00\x00\x03")) {
		t.Fatalf("prefix = %q", got)
	}
	out, err := ReadEventFile(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", out, in)
	}
	var again bytes.Buffer
	WriteEventFile(&again, out)
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Fatal("same events gave different bytes (header order must be sorted)")
	}
}

func TestReadEventFileRejects(t *testing.T) {
	for name, data := range map[string]string{
		"magic":     "XXXX\x00\x00\x00\x01\x00\x00\x00\x00",
		"version":   "FSND\x00\x00\x00\x02\x00\x00\x00\x00",
		"truncated": "FSND\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x05ab",
	} {
		if _, err := ReadEventFile(strings.NewReader(data)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRollFilesOrder(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"1700000000001-10", "1700000000001-9", "1700000000001-1", "1600000000000-2.avro"} {
		if err := writeFile(dir, n, n+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadRollText(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := "1600000000000-2.avro\n1700000000001-1\n1700000000001-9\n1700000000001-10\n"
	if got != want {
		t.Fatalf("order:\n%s\nwant\n%s", got, want)
	}
}
