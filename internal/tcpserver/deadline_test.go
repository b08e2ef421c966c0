package tcpserver

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// FirstByte gives back the byte it waited for, then the rest, and passes
// on the error of a stream that ends before any byte.
func TestFirstByte(t *testing.T) {
	r, err := FirstByte(strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(r); string(b) != "hello" {
		t.Fatalf("read %q, want hello", b)
	}
	if _, err := FirstByte(strings.NewReader("")); !errors.Is(err, io.EOF) {
		t.Fatalf("empty stream: %v, want EOF", err)
	}
}
