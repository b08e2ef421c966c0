//go:build !linux

package wal

import (
	"math"
	"os"
)

func datasync(f *os.File) error { return f.Sync() }

// FreeSpace is not measured on this platform: it reports unlimited space,
// so minimumRequiredSpace has no effect here.
func FreeSpace(dir string) (uint64, error) { return math.MaxUint64, nil }

// SameFS reports whether two directories are on one file system; not
// measured here, so always the careful answer.
func SameFS(a, b string) bool { return true }
