package peers

import "syscall"

// sysProcAttr puts the JVM in its own process group (so one signal reaches
// everything it starts) and kills it if the Go process dies first, so a
// crashed or timed-out test leaves no JVM behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
