package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// indexReader reads back the documents of an index: their @message (the
// event body, logstash layout) counted as numbered lines. A full read
// (scroll) is done only once the index holds at least the events waited
// for, or when the last full read is 15 s old: until then some are missing
// anyway.
type indexReader struct {
	o     *peers.OpenSearch
	index string
	last  *seqCount
	at    time.Time
}

func (r *indexReader) read(want int) (*seqCount, error) {
	ctx := context.Background()
	n, err := r.o.Count(ctx, r.index)
	if err != nil {
		return nil, err
	}
	if n < want && r.last != nil && time.Since(r.at) < 15*time.Second {
		return r.last, nil
	}
	c := &seqCount{}
	type page struct {
		ScrollID string `json:"_scroll_id"`
		Hits     struct {
			Hits []struct {
				Source struct {
					Message string `json:"@message"`
				} `json:"_source"`
			}
		}
	}
	body := map[string]any{"size": 10000, "_source": []string{"@message"}, "sort": []string{"_doc"}}
	path := "/" + r.index + "/_search?scroll=1m"
	var id string
	defer func() {
		if id != "" {
			_, _, _ = r.o.Do(ctx, "DELETE", "/_search/scroll", map[string]any{"scroll_id": id})
		}
	}()
	for {
		code, b, err := r.o.Do(ctx, "POST", path, body)
		if err != nil {
			return nil, err
		}
		if code != 200 {
			return nil, fmt.Errorf("search %s: %d %s", r.index, code, b)
		}
		var p page
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("search %s: %w", r.index, err)
		}
		id = p.ScrollID
		if len(p.Hits.Hits) == 0 {
			break
		}
		for _, h := range p.Hits.Hits {
			c.add([]byte(h.Source.Message))
		}
		path, body = "/_search/scroll", map[string]any{"scroll": "1m", "scroll_id": id}
	}
	r.last, r.at = c, time.Now()
	return c, nil
}

// TestElasticsearchOutage: avro → memory channel → elasticsearch sink
// (OpenSearch), the node stopped for the outage budget while the client
// keeps sending (runPeerOutage). Every acknowledged event is read back
// from the index. The only OpenSearch scenario: the node is stopped after
// it.
func TestElasticsearchOutage(t *testing.T) {
	o := needOpenSearch(t, true)
	index := fmt.Sprintf("rel-es-outage-%d", time.Now().UnixNano())
	r := &indexReader{o: o, index: index}
	runPeerOutage(t, peerOutage{
		scenario: "elasticsearch-outage",
		peer:     "OpenSearch",
		sink: func(ag string) string {
			return fmt.Sprintf(`%[1]s.sinks.k1.type = elasticsearch
%[1]s.sinks.k1.channel = c1
%[1]s.sinks.k1.hostNames = %[2]s
%[1]s.sinks.k1.indexName = %[3]s
%[1]s.sinks.k1.indexNameBuilder = org.apache.flume.sink.elasticsearch.SimpleIndexNameBuilder
%[1]s.sinks.k1.batchSize = %[4]d
`, ag, o.URL, index, sinkBatch)
		},
		sinkDoc: "; the elasticsearch sink holds only the bulk request it is sending (batchSize events, part of the channel's count until committed)",
		batch:   sinkBatch,
		stop:    o.Stop,
		start:   o.Restart,
		read:    r.read,
	})
}
