package sluicetest

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/sluiceio/sluice"
)

// RandomEvents makes n events from seed: a "seq" header (the index), up to
// three more random headers (non-ASCII and empty names and values among
// them), and random binary bodies of 0 to 299 bytes.
func RandomEvents(n int, seed uint64) []*sluice.Event {
	r := rand.New(rand.NewPCG(seed, 1))
	keys := []string{"host", "timestamp", "topic", "ключ", "", "a.b.c", "x-y"}
	str := func(max int) string {
		b := make([]rune, r.IntN(max))
		for i := range b {
			if r.IntN(10) == 0 {
				b[i] = rune(0x400 + r.IntN(0x400))
			} else {
				b[i] = rune(' ' + r.IntN(95))
			}
		}
		return string(b)
	}
	out := make([]*sluice.Event, n)
	for i := range out {
		h := map[string]string{"seq": strconv.Itoa(i)}
		for j := r.IntN(4); j > 0; j-- {
			if r.IntN(3) == 0 {
				h[str(20)] = str(40)
			} else {
				h[keys[r.IntN(len(keys))]] = str(40)
			}
		}
		body := make([]byte, r.IntN(300))
		for j := range body {
			body[j] = byte(r.Uint32())
		}
		out[i] = &sluice.Event{Headers: h, Body: body}
	}
	return out
}

// SameEvents fails t unless got holds want's events in order, every header
// and every body byte alike (a nil and an empty map or body are alike).
func SameEvents(t testing.TB, got, want []*sluice.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Body, want[i].Body) {
			t.Fatalf("event %d: body %x, want %x", i, got[i].Body, want[i].Body)
		}
		if len(got[i].Headers) != len(want[i].Headers) {
			t.Fatalf("event %d: headers %q, want %q", i, got[i].Headers, want[i].Headers)
		}
		for k, v := range want[i].Headers {
			if g, ok := got[i].Headers[k]; !ok || g != v {
				t.Fatalf("event %d: header %q = %q, want %q", i, k, g, v)
			}
		}
	}
}

// Drain runs d (a sink's transaction loop, or a sink group) until ch is
// empty, allowing up to maxErrs failed transactions, and returns their
// errors.
func Drain(t testing.TB, d sluice.Drainer, ch *Channel, maxErrs int) []error {
	t.Helper()
	var errs []error
	for ch.Len() > 0 {
		if _, err := d.Process(context.Background()); err != nil {
			errs = append(errs, err)
			if len(errs) > maxErrs {
				t.Fatalf("too many failures: %v", errs)
			}
		}
	}
	return errs
}

// FailingProcessor is a Processor that refuses its first batches with
// ErrFull, as a full channel does.
type FailingProcessor struct {
	*Processor
	mu   sync.Mutex
	fail int
}

// NewFailingProcessor refuses the first n batches.
func NewFailingProcessor(n int) *FailingProcessor {
	return &FailingProcessor{Processor: NewProcessor(), fail: n}
}

// Process refuses the batch while refusals are left, else records it.
func (p *FailingProcessor) Process(ctx context.Context, events []*sluice.Event, call sluice.Call) error {
	p.mu.Lock()
	if p.fail > 0 {
		p.fail--
		p.mu.Unlock()
		return ErrFull
	}
	p.mu.Unlock()
	return p.Processor.Process(ctx, events, call)
}
