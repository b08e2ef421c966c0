// Package components holds the example components of
// docs/writing-a-component.md; this test keeps the page and the code the
// same.
package components

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestTheGuideShowsTheCodeAsItIs(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "writing-a-component.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```go file=(\\S+)\n(.*?)```\n").FindAllSubmatch(doc, -1)
	if len(blocks) != 3 {
		t.Fatalf("the guide shows %d code files, want 3", len(blocks))
	}
	for _, b := range blocks {
		code, err := os.ReadFile(filepath.Join(root, string(b[1])))
		if err != nil {
			t.Fatal(err)
		}
		if string(code) != string(b[2]) {
			t.Errorf("docs/writing-a-component.md shows %s as it was, not as it is: regenerate the block", b[1])
		}
	}
}
