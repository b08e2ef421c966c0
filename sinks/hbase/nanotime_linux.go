package hbase

import "golang.org/x/sys/unix"

// nanoTime is Java's System.nanoTime() on Linux: CLOCK_MONOTONIC.
func nanoTime() int64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
		return monoFallback()
	}
	return ts.Nano()
}
