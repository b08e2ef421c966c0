package sluicetest

import "runtime"

// HeapInUse is the live heap after two collections (the second frees what
// the first could not: buffers dropped while it ran). Tests that bound a
// component's memory sample it.
func HeapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}
