package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// HTTPWorkload is the REST collector under load: several clients POST JSON
// arrays of batch events to an http source (→ memory → null), as
// analytics clients do. Flume runs the same conf.
func HTTPWorkload(clients, batch int) Workload {
	return Workload{
		Name: fmt.Sprintf("http → memory → null, %d clients, %d events per POST, 100-byte bodies", clients, batch),
		Conf: func(p Ports) string {
			return fmt.Sprintf("a1.sources = r1\na1.sources.r1.type = http\na1.sources.r1.bind = 127.0.0.1\n"+
				"a1.sources.r1.port = %d\na1.sources.r1.channels = c1\n", p.Source) + memoryNull
		},
		Load:     HTTPLoad(clients, batch),
		BodySize: 100,
		SinkKey:  "CHANNEL.c1",
	}
}

// HTTPLoad sends events in JSON batches from clients goroutines, each with
// its own keep-alive connection; a batch refused with 503 (channel full)
// is sent again after a short pause, as a well-behaved client does.
func HTTPLoad(clients, batch int) func(ctx context.Context, p Ports, events, bodySize int) error {
	return func(ctx context.Context, p Ports, events, bodySize int) error {
		url := fmt.Sprintf("http://127.0.0.1:%d/", p.Source)
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		per := events / clients
		for i := 0; i < clients; i++ {
			n := per
			if i == clients-1 {
				n = events - per*(clients-1)
			}
			wg.Add(1)
			go func(id, n int) {
				defer wg.Done()
				if err := httpClient(ctx, url, id, n, batch, bodySize); err != nil {
					errs <- err
				}
			}(i, n)
		}
		wg.Wait()
		close(errs)
		return errors.Join(collect(errs)...)
	}
}

// jsonBatch renders n events with bodySize-byte bodies as the JSON
// handler's array.
func jsonBatch(id, n, bodySize int) []byte {
	body := bytes.Repeat([]byte{'x'}, bodySize)
	copy(body, fmt.Sprintf("client%d ", id))
	var b bytes.Buffer
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"headers":{"client":"`)
		fmt.Fprint(&b, id)
		b.WriteString(`"},"body":"`)
		b.Write(body)
		b.WriteString(`"}`)
	}
	b.WriteByte(']')
	return b.Bytes()
}

func httpClient(ctx context.Context, url string, id, n, batch, bodySize int) error {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	full := jsonBatch(id, batch, bodySize)
	// Up to 30 s for the agent to listen (a JVM starts slowly).
	deadline := time.Now().Add(30 * time.Second)
	for sent := 0; sent < n; {
		body := full
		if k := min(batch, n-sent); k < batch {
			body = jsonBatch(id, k, bodySize)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			if sent == 0 && time.Now().Before(deadline) && ctx.Err() == nil {
				time.Sleep(2 * time.Millisecond)
				continue
			}
			return fmt.Errorf("client %d after %d events: %w", id, sent, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			sent += min(batch, n-sent)
		case http.StatusServiceUnavailable:
			time.Sleep(5 * time.Millisecond)
		default:
			return fmt.Errorf("client %d: status %d", id, resp.StatusCode)
		}
	}
	return nil
}
