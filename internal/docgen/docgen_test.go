package docgen_test

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	_ "github.com/sluiceio/sluice/all"
	"github.com/sluiceio/sluice/internal/docgen"
)

// The component pages in docs/ must be what the specs generate today: edit
// a spec, run `make docs`, commit both.
func TestDocsAreCurrent(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	docs := filepath.Join(filepath.Dir(file), "..", "..", "docs")
	pages := docgen.Pages()
	dirs := map[string]bool{}
	for rel, want := range pages {
		dirs[filepath.Dir(rel)] = true
		got, err := os.ReadFile(filepath.Join(docs, rel))
		if err != nil {
			t.Errorf("docs/%s is missing: run `make docs`", rel)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("docs/%s is stale: run `make docs`", rel)
		}
	}
	// A page whose component no longer exists is stale too.
	for d := range dirs {
		if d == "." {
			continue
		}
		entries, _ := os.ReadDir(filepath.Join(docs, d))
		for _, e := range entries {
			if _, ok := pages[filepath.Join(d, e.Name())]; !ok {
				t.Errorf("docs/%s/%s documents no registered component", d, e.Name())
			}
		}
	}
}
