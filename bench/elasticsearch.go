package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// esBody is the body size of the Elasticsearch workload.
const esBody = 100

// esBatch is the sink's batchSize and the plain client's bulk size.
const esBatch = 1000

// esConns is the plain client's connection count: one, as the sink's one
// request at a time.
const esConns = 1

// The Elasticsearch workload's OpenSearch node, started by its first run
// with the JVM's default flags (not the tests' FastStartFlags) and stopped
// by StopOpenSearch.
var es struct {
	mu   sync.Mutex
	node *peers.OpenSearch
	warm bool // esWarmUp has run
}

// OpenSearchHeap is the benchmark node's heap.
const OpenSearchHeap = "1g"

func esNode(ctx context.Context) (*peers.OpenSearch, error) {
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.node != nil {
		return es.node, nil
	}
	n, err := peers.StartOpenSearchProcess(ctx, peers.OpenSearchOptions{Heap: OpenSearchHeap})
	if err != nil {
		return nil, fmt.Errorf("starting OpenSearch: %w", err)
	}
	es.node = n
	return n, nil
}

// StopOpenSearch stops the benchmark node if a workload started it.
func StopOpenSearch() {
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.node == nil {
		return
	}
	if err := es.node.Stop(); err != nil {
		fmt.Println("stopping OpenSearch:", err)
	}
	es.node = nil
}

// ElasticsearchWorkload is stress → memory → elasticsearch sink into a
// daily index of its own per run, batches of 1000, beside the rate a plain
// bulk client reaches on the same node with the same documents (the
// ceiling). Flume 1.11 has no Elasticsearch sink (removed in 1.10), so it
// runs on Sluice only. Delivery is counted by the sink's
// EventDrainSuccessCount (batches the server acknowledged) and checked at
// the end against the index's document count.
func ElasticsearchWorkload() Workload {
	return Workload{
		Name:       fmt.Sprintf("stress → memory → elasticsearch sink (OpenSearch %s), %d-byte bodies", peers.OpenSearchVersion, esBody),
		SluiceOnly: true,
		MaxEvents:  1_000_000,
		Prepare: func(ctx context.Context, p Ports) error {
			n, err := esNode(ctx)
			if err != nil {
				return err
			}
			return esWarmUp(ctx, n)
		},
		Conf: func(p Ports) string {
			return stressSource(p.Events) + memoryChannel + fmt.Sprintf("a1.sinks = k1\n"+
				"a1.sinks.k1.type = elasticsearch\na1.sinks.k1.hostNames = %s\n"+
				"a1.sinks.k1.indexName = %s\na1.sinks.k1.batchSize = %d\na1.sinks.k1.channel = c1\n",
				esURL(), runName("es", p), esBatch)
		},
		SinkKey:  "SINK.k1",
		BodySize: esBody,
		Verify: func(p Ports) error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			n, err := esNodeNow().Count(ctx, runName("es", p)+"-*")
			if err != nil {
				return err
			}
			if n != p.Events {
				return fmt.Errorf("the index holds %d documents, not %d", n, p.Events)
			}
			return nil
		},
		Note: func(r Result) string {
			// Measured after the sink's runs, on a node as warm as theirs.
			rate, mbps, err := esCeiling(context.Background(), esNodeNow(), r.Events)
			if err != nil {
				return "ceiling not measured: " + err.Error()
			}
			return fmt.Sprintf("ceiling: a plain bulk client (net/http, %d connection(s), %d documents of the same layout a request, a fresh index) then indexed %.0f docs/s (%.1f MB/s of bodies) on this node; the sink reached %.0f%% of it",
				esConns, esBatch, rate, mbps, 100*r.EventsPerS/rate)
		},
	}
}

func esNodeNow() *peers.OpenSearch {
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.node
}

func esURL() string { return esNodeNow().URL }

// esBulkBody is esBatch index actions into index with documents of the
// sink's LogStash layout and esBody-byte messages like the stress source's.
func esBulkBody(index string) []byte {
	// The stress source's body: every byte 0x7F.
	msg, _ := json.Marshal(strings.Repeat("\x7f", esBody))
	ts := time.Now().UnixMilli()
	var body bytes.Buffer
	for i := 0; i < esBatch; i++ {
		fmt.Fprintf(&body, "{\"index\":{\"_index\":%q}}\n", index)
		fmt.Fprintf(&body, "{\"@message\":%s,\"@timestamp\":%q,\"@fields\":{\"timestamp\":\"%d\"}}\n",
			msg, time.UnixMilli(ts).UTC().Format("2006-01-02T15:04:05.000Z07:00"), ts)
	}
	return body.Bytes()
}

// esWarmUp indexes 100 bulks once per node: a fresh JVM indexes far slower
// than a warm one (JIT), and the first run should not pay for that.
func esWarmUp(ctx context.Context, node *peers.OpenSearch) error {
	es.mu.Lock()
	done := es.warm
	es.warm = true
	es.mu.Unlock()
	if done {
		return nil
	}
	bulk := esBulkBody("bench-warmup")
	for i := 0; i < 100; i++ {
		if err := esBulk(ctx, node.URL, bulk); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	_, _, _ = node.Do(ctx, "DELETE", "/bench-warmup", nil)
	return nil
}

// esCeiling measures how fast a plain client indexes n documents into a
// fresh index, in bulks of esBatch over esConns connections.
func esCeiling(ctx context.Context, node *peers.OpenSearch, n int) (rate, mbps float64, err error) {
	index := fmt.Sprintf("bench-ceiling-%d", time.Now().UnixNano())
	bulk := esBulkBody(index)
	requests := (n + esBatch - 1) / esBatch
	next := make(chan struct{}, requests)
	for i := 0; i < requests; i++ {
		next <- struct{}{}
	}
	close(next)
	var wg sync.WaitGroup
	errs := make(chan error, esConns)
	start := time.Now()
	for c := 0; c < esConns; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				if err := esBulk(ctx, node.URL, bulk); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := errors.Join(collect(errs)...); err != nil {
		return 0, 0, err
	}
	secs := time.Since(start).Seconds()
	docs := float64(requests * esBatch)
	_, _, _ = node.Do(ctx, "DELETE", "/"+index, nil)
	return docs / secs, docs * esBody / secs / 1e6, nil
}

func esBulk(ctx context.Context, url string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/_bulk", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var r struct{ Errors bool }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &r) != nil || r.Errors {
		return fmt.Errorf("bulk answered %d: %.300s", resp.StatusCode, b)
	}
	return nil
}
