package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// FlumeTarget runs Apache Flume 1.11 from the jars the peer harness fetched
// (scripts/peers.sh fetch flume), on the same .conf file as Sluice.
type FlumeTarget struct {
	LibDir string // .peers/flume/lib
	Log4j  string // test/peers/log4j2.properties
	// Heap is the -Xmx a Flume user would set; flume-ng's default of 20m
	// cannot hold these workloads. Stated in every report.
	Heap string
}

// Name implements Target.
func (FlumeTarget) Name() string { return "Flume" }

// Command implements Target: the JVM runs org.apache.flume.node.Application
// directly (what bin/flume-ng execs), so the measured PID is the JVM's.
func (t FlumeTarget) Command(confPath, agent string, monitorPort int) (*exec.Cmd, error) {
	if _, err := os.Stat(filepath.Join(t.LibDir, "flume-ng-node-1.11.0.jar")); err != nil {
		return nil, fmt.Errorf("flume jars not found in %s (run scripts/peers.sh fetch flume): %w", t.LibDir, err)
	}
	heap := t.Heap
	if heap == "" {
		heap = "1g"
	}
	args := []string{"-Xmx" + heap,
		"-Dflume.monitoring.type=http", "-Dflume.monitoring.port=" + strconv.Itoa(monitorPort),
		"-cp", filepath.Join(t.LibDir, "*")}
	if t.Log4j != "" {
		args = append(args, "-Dlog4j2.configurationFile="+t.Log4j)
	}
	args = append(args, "org.apache.flume.node.Application", "-n", agent, "-f", confPath, "--no-reload-conf")
	return exec.Command("java", args...), nil
}
