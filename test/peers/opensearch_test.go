package peers

import (
	"context"
	"strings"
	"testing"
)

// TestOpenSearch starts the real node, indexes through /_bulk, counts, and
// finds the documents again after a crash (SIGKILL) and a restart.
func TestOpenSearch(t *testing.T) {
	s := StartOpenSearch(t, OpenSearchOptions{Fast: true})
	ctx := context.Background()
	_, root, err := s.Do(ctx, "GET", "/", nil)
	if err != nil || !strings.Contains(string(root), `"number" : "`+OpenSearchVersion+`"`) {
		t.Fatalf("GET / = %s, %v; want version %s", root, err, OpenSearchVersion)
	}
	bulk := `{"index":{"_index":"peer-t"}}` + "\n" + `{"a":1}` + "\n" + `{"index":{"_index":"peer-t"}}` + "\n" + `{"a":2}` + "\n"
	if _, err := s.do(ctx, "POST", "/_bulk?refresh=true", bulk); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Count(ctx, "peer-t"); err != nil || n != 2 {
		t.Fatalf("count = %d, %v; want 2", n, err)
	}
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Do(ctx, "GET", "/", nil); err == nil {
		t.Fatal("the killed node still answers")
	}
	s.Restart()
	if n, err := s.Count(ctx, "peer-t"); err != nil || n != 2 {
		t.Fatalf("count after restart = %d, %v; want 2", n, err)
	}
}
