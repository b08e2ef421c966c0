// Package reliability runs the real sluice binary through faults — kill -9
// of an agent, a downstream stopped for a while, files rotated while the
// agent is down — with a load generator that numbers every event and a
// verifier that reads the far end. Each scenario reports what was sent,
// what arrived, what was lost (asserted zero), what came twice (asserted
// within the batch sizes) and how long recovery took; `make reliability`
// writes the table to docs/reliability.md.
package reliability

import (
	"flag"
	"os"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

var (
	binary string

	long   = flag.Bool("reliability.long", false, "run each scenario longer: more kills, a longer outage")
	report = flag.String("reliability.report", "", "write the table of the scenarios that ran to this markdown file")
)

// TestMain builds the binary and runs the scenarios. Under -short only the
// checks that need no binary run (the scenarios skip).
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(peers.RunWithSluice(func() int {
		code := m.Run()
		stopJVMPeer() // the Kafka, HDFS, OpenSearch... peer the last scenarios used
		if *report != "" {
			if err := writeReport(*report); err != nil {
				os.Stderr.WriteString(err.Error() + "\n")
				return 1
			}
		}
		return code
	}, &binary))
}

// needBinary skips a scenario under -short, where TestMain built nothing.
func needBinary(t *testing.T) {
	t.Helper()
	if binary == "" {
		t.Skip("needs the real binary: run without -short")
	}
}

// budget is how long each scenario applies its fault. The defaults keep the
// whole suite within a few minutes of CI; -reliability.long stretches them.
type budget struct {
	faultFor time.Duration // how long kills go on
	kills    int           // how many kill -9 at most, spread over faultFor
	outage   time.Duration // how long a downstream stays away
	rate     int           // events per second the load generator offers
}

func durations() budget {
	if *long {
		return budget{faultFor: 2 * time.Minute, kills: 30, outage: 2 * time.Minute, rate: 5000}
	}
	return budget{faultFor: 20 * time.Second, kills: 6, outage: 30 * time.Second, rate: 3000}
}
