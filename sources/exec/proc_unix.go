//go:build unix

package exec

import (
	osexec "os/exec"
	"syscall"
)

// ownGroup makes the command lead a new process group, so that stopping it
// also stops whatever it started (a shell's children).
func ownGroup(cmd *osexec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// terminateGroup asks the whole group to exit.
func terminateGroup(pid int) { syscall.Kill(-pid, syscall.SIGTERM) }

// killGroup ends the whole group at once.
func killGroup(pid int) { syscall.Kill(-pid, syscall.SIGKILL) }
