//go:build unix

package peers

import "testing"

// A port FreePort returned stays reserved: another process (here another
// open file description of the lock file, which flock treats alike) cannot
// reserve it while this one runs.
func TestFreePortReservedAgainstOtherProcesses(t *testing.T) {
	p := FreePort(t)
	if f, ok := lockPort(p); ok {
		unlockPort(f)
		t.Fatalf("port %d could be reserved a second time", p)
	}
}
