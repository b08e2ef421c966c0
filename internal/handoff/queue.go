package handoff

import "github.com/sluiceio/sluice"

// DrainQueue reads queue until it is closed and hands deliver each run of
// events already waiting there, at most max at a time: a source whose
// reader cannot wait for the channels (UDP) batches what piled up without
// adding latency. The slice given to deliver is reused after it returns.
func DrainQueue(queue <-chan *sluice.Event, max int, deliver func([]*sluice.Event)) {
	batch := make([]*sluice.Event, 0, max)
	for e := range queue {
		batch = append(batch[:0], e)
	fill:
		for len(batch) < max {
			select {
			case e, ok := <-queue:
				if !ok {
					break fill
				}
				batch = append(batch, e)
			default:
				break fill
			}
		}
		deliver(batch)
		clear(batch) // let the channel own the events alone
	}
}
