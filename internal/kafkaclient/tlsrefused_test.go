package kafkaclient

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A TLS alert about the client's certificate, read after the handshake,
// is the broker refusing it: Explain says so and names the key store.
// Other alerts are not blamed on the certificate.
func TestExplainRefusedClientCertificate(t *testing.T) {
	cl, err := kgo.NewClient(kgo.SeedBrokers("localhost:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for alert, refused := range map[string]bool{
		"tls: bad certificate":                true,
		"tls: certificate required":           true,
		"tls: unknown certificate authority":  true,
		"tls: protocol version not supported": false,
	} {
		err := fmt.Errorf("reading: %w", &net.OpError{Op: "remote error", Err: errors.New(alert)})
		if TLSRefused(err) != refused {
			t.Errorf("%q: TLSRefused = %v", alert, !refused)
		}
		got := Explain(cl, err).Error()
		if want := `kafka.bootstrap.servers "localhost:1" refused this client's certificate`; strings.Contains(got, want) != refused ||
			(refused && !strings.Contains(got, "ssl.keystore.location")) {
			t.Errorf("%q: %s", alert, got)
		}
	}
	if TLSRefused(&net.OpError{Op: "dial", Err: errors.New("tls: bad certificate")}) {
		t.Error("a local TLS error counted as the broker's refusal")
	}
}
