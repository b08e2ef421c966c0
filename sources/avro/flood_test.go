package avro

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice/sluicetest"
)

// A flood of connections ipFilterRules refuses is logged once, not once
// per connection.
func TestIPFilterRefusalsRateLimited(t *testing.T) {
	f := start(t, sluicetest.NewProcessor(), map[string]string{"ipFilter": "true", "ipFilterRules": "deny:ip:*"})
	for i := 0; i < 100; i++ {
		c, err := net.Dial("tcp", f.addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(wait))
		_, _ = c.Read(make([]byte, 1)) // closed by the source, after its log line
		c.Close()
	}
	f.log.waitLog(t, "refused by ipFilterRules")
	if n := strings.Count(f.log.String(), "refused by ipFilterRules"); n != 1 {
		t.Errorf("%d log lines for 100 refused connections, want 1", n)
	}
}
