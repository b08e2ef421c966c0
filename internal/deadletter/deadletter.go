// Package deadletter keeps events that a sink's downstream rejected for good,
// so that one bad record does not block a pipeline: in a directory, as JSON
// lines with the reason, or in another channel, with the reason as a header.
// Both are durable before the sink's take commits.
package deadletter

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/sinkloop"
)

// Headers a dead-lettered event carries into a dead-letter channel.
const (
	ReasonHeader = "sluice.deadletter.reason"
	SinkHeader   = "sluice.deadletter.sink"
)

// Record is one line of a dead-letter file.
type Record struct {
	Time    string            `json:"time"`
	Sink    string            `json:"sink"`
	Reason  string            `json:"reason"`
	Headers map[string]string `json:"headers,omitempty"`
	// Body is the event body when it is UTF-8; BodyBase64 otherwise.
	Body       *string `json:"body,omitempty"`
	BodyBase64 string  `json:"bodyBase64,omitempty"`
}

// Dir writes rejected events to <dir>/<sink>-<start time>.jsonl files, one
// JSON record a line, synced before Put returns. A file is rolled when it
// passes MaxFileSize.
type Dir struct {
	Path        string
	Sink        string
	MaxFileSize int64

	mu   sync.Mutex
	f    *os.File
	size int64
	now  func() time.Time
}

// Put implements sinkloop.DeadLetter.
func (d *Dir) Put(_ context.Context, rejected []sinkloop.Rejected) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now
	if d.now != nil {
		now = d.now
	}
	var buf []byte
	for _, r := range rejected {
		rec := Record{Time: now().UTC().Format(time.RFC3339Nano), Sink: d.Sink, Reason: r.Reason, Headers: r.Event.Headers}
		if utf8.Valid(r.Event.Body) {
			s := string(r.Event.Body)
			rec.Body = &s
		} else {
			rec.BodyBase64 = base64.StdEncoding.EncodeToString(r.Event.Body)
		}
		line, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("dead letter: encode: %w", err)
		}
		buf = append(append(buf, line...), '\n')
	}
	if d.f != nil && d.MaxFileSize > 0 && d.size+int64(len(buf)) > d.MaxFileSize && d.size > 0 {
		if err := d.f.Close(); err != nil {
			return fmt.Errorf("dead letter: close %s: %w", d.f.Name(), err)
		}
		d.f = nil
	}
	if d.f == nil {
		if err := os.MkdirAll(d.Path, 0o755); err != nil {
			return fmt.Errorf("dead letter: directory %s: %w", d.Path, err)
		}
		name := filepath.Join(d.Path, d.Sink+"-"+now().UTC().Format("20060102T150405.000000000Z")+".jsonl")
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("dead letter: %w", err)
		}
		d.f, d.size = f, 0
	}
	if _, err := d.f.Write(buf); err != nil {
		// A torn line cannot be taken back; the next file starts clean.
		_ = d.f.Close()
		d.f = nil
		return fmt.Errorf("dead letter: write %s: %w", d.Path, err)
	}
	d.size += int64(len(buf))
	if err := d.f.Sync(); err != nil {
		_ = d.f.Close()
		d.f = nil
		return fmt.Errorf("dead letter: sync %s: %w", d.Path, err)
	}
	return nil
}

// Close closes the open file.
func (d *Dir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}

// Channel puts rejected events into another channel of the agent, each a
// copy with the reason and the sink's name as headers.
type Channel struct {
	Name    string
	Channel sluice.Channel
	Sink    string
}

// Put implements sinkloop.DeadLetter.
func (c *Channel) Put(_ context.Context, rejected []sinkloop.Rejected) error {
	events := make([]*sluice.Event, len(rejected))
	for i, r := range rejected {
		e := r.Event.Clone()
		e.SetHeader(ReasonHeader, r.Reason)
		e.SetHeader(SinkHeader, c.Sink)
		events[i] = e
	}
	chunk := len(events)
	if tc, ok := c.Channel.(sluice.TxnCapacitor); ok && tc.TransactionCapacity() > 0 {
		chunk = min(chunk, tc.TransactionCapacity())
	}
	for start := 0; start < len(events); start += chunk {
		tx := c.Channel.Begin()
		if err := tx.Put(events[start:min(start+chunk, len(events))]); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("dead letter channel %s: %w", c.Name, err)
		}
		if err := tx.Commit(); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("dead letter channel %s: %w", c.Name, err)
		}
	}
	return nil
}

// Config is the deadLetter.* properties of a sink, which the agent reads
// for every sink.
type Config struct {
	Directory   string `flume:"deadLetter.directory" doc:"directory for events the downstream rejected for good (JSON lines with the reason); unset: such a batch rolls back, as in Flume"`
	Channel     string `flume:"deadLetter.channel" doc:"a channel of this agent for rejected events instead (the reason in the header sluice.deadletter.reason)"`
	MaxFileSize int64  `flume:"deadLetter.maxFileSize" doc:"roll a dead-letter file after this many bytes"`
}

// Defaults returns the defaults of the deadLetter.* properties.
func Defaults() *Config { return &Config{MaxFileSize: 64 << 20} }

// Validate checks the combination.
func (c *Config) Validate() error {
	if c.Directory != "" && c.Channel != "" {
		return fmt.Errorf("set deadLetter.directory or deadLetter.channel, not both")
	}
	if c.MaxFileSize < 1 {
		return fmt.Errorf("deadLetter.maxFileSize %s must be at least 1", strconv.FormatInt(c.MaxFileSize, 10))
	}
	return nil
}
