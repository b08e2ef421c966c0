package hbase

import "time"

var monoStart = time.Now()

// monoFallback is a monotonic nanosecond count from process start, for
// systems where Java's clock is not at hand.
func monoFallback() int64 { return int64(time.Since(monoStart)) }
