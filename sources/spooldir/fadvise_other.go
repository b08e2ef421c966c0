//go:build !linux

package spooldir

import "os"

// adviseSequential is a hint to the kernel where there is one (Linux).
func adviseSequential(*os.File) {}
