//go:build !linux

package hbase

// nanoTime stands in for Java's System.nanoTime(), whose origin is
// arbitrary anyway: only its growth matters.
func nanoTime() int64 { return monoFallback() }
