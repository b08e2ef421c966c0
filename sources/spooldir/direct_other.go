//go:build !linux

package spooldir

import "os"

// directFile is Linux only; elsewhere reading is always buffered.
type directFile struct{}

func openDirect(*os.File) *directFile { return nil }

func (d *directFile) close() {}

func (d *directFile) readAt([]byte, int64) (int, bool, error) { return 0, false, nil }

// adviseSequential is a hint to the kernel where there is one (Linux).
func adviseSequential(*os.File) {}
