//go:build !unix

package exec

import (
	"os"
	osexec "os/exec"
)

// Without process groups only the command itself can be stopped.
func ownGroup(*osexec.Cmd) {}

func terminateGroup(pid int) { killGroup(pid) }

func killGroup(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}
