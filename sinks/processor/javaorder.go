package processor

import "unicode/utf16"

// javaHashOrder returns names in the order a java.util.HashMap iterates
// them after they were put into a new HashMap() in the given order. Flume's
// failover processor hands out default priorities in that order, so
// reproducing it keeps the same sink active as under Flume. (Bins that Java
// would turn into trees need nine names in one bucket; sink groups are far
// smaller, so they are not modelled.)
func javaHashOrder(names []string) []string {
	// Java's HashMap starts with 16 buckets and doubles when the size
	// exceeds three quarters of the bucket count.
	n := 16
	for len(names) > n*3/4 {
		n *= 2
	}
	buckets := make([][]string, n)
	for _, s := range names {
		h := uint32(javaStringHash(s))
		i := (h ^ h>>16) & uint32(n-1)
		buckets[i] = append(buckets[i], s)
	}
	out := make([]string, 0, len(names))
	for _, b := range buckets {
		out = append(out, b...)
	}
	return out
}

// javaStringHash is java.lang.String.hashCode: over UTF-16 code units,
// wrapping at 32 bits.
func javaStringHash(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}
