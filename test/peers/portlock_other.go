//go:build !unix

package peers

import "os"

// lockPort reserves nothing where flock is missing: ports are then unique
// within a process only.
func lockPort(int) (*os.File, bool) { return nil, true }

func unlockPort(*os.File) {}
