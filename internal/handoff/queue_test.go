package handoff

import (
	"testing"

	"github.com/sluiceio/sluice"
)

func TestDrainQueueBatchesWhatIsWaiting(t *testing.T) {
	q := make(chan *sluice.Event, 10)
	for range 7 {
		q <- &sluice.Event{}
	}
	close(q)
	var sizes []int
	DrainQueue(q, 3, func(b []*sluice.Event) { sizes = append(sizes, len(b)) })
	if len(sizes) != 3 || sizes[0] != 3 || sizes[1] != 3 || sizes[2] != 1 {
		t.Fatalf("batches %v, want [3 3 1]", sizes)
	}
}
