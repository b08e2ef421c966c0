package sluice

import "context"

// Lifecycle is the contract every running component keeps.
//
// Start returns quickly and runs work on the component's own goroutines; it
// fails fast when the component cannot run (port taken, directory missing).
// Stop is idempotent and safe without Start: it stops intake first, then
// flushes what it holds within the deadline carried by ctx.
type Lifecycle interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}
