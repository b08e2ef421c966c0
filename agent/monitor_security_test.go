package agent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice/sluicetest"
)

// selfSigned writes a certificate for 127.0.0.1 and its key; it returns
// their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sluice monitoring test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TLS and basic authentication cover every path the port serves; the
// password never shows in the log.
func TestMonitorTLSAndBasicAuth(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	const password = "s3cret-Pa55word"
	logs := &sluicetest.LogBuf{}
	m := NewMonitor(monitored(t), logs.Logger())
	m.Config = MonitorConfig{CertFile: certFile, KeyFile: keyFile, User: "ops", Password: password}
	if err := m.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer m.Stop(t.Context())
	base := "https://" + m.Addr().String()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	do := func(path, user, pass string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/", "/metrics", "/metrics/prometheus", "/health"} {
		if code, _ := do(path, "", ""); code != http.StatusUnauthorized {
			t.Errorf("%s without credentials: %d, want 401", path, code)
		}
		if code, _ := do(path, "ops", "wrong"); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong password: %d, want 401", path, code)
		}
		if code, _ := do(path, "root", password); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong user: %d, want 401", path, code)
		}
		code, body := do(path, "ops", password)
		if path == "/health" {
			if code != http.StatusServiceUnavailable { // monitored(t) is never started
				t.Errorf("%s with credentials: %d", path, code)
			}
		} else if code != http.StatusOK {
			t.Errorf("%s with credentials: %d %s", path, code, body)
		}
	}
	// Plain HTTP gets no answer worth the name.
	if resp, err := http.Get("http://" + m.Addr().String() + "/metrics"); err == nil {
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP served the metrics on a TLS port")
		}
		resp.Body.Close()
	}
	if strings.Contains(logs.String(), password) {
		t.Errorf("the password is in the log:\n%s", logs.String())
	}
}

func TestMonitorTLSNeedsBothFiles(t *testing.T) {
	certFile, _, _ := selfSigned(t)
	m := NewMonitor(monitored(t), sluicetest.Logger())
	m.Config.CertFile = certFile
	if err := m.Start("127.0.0.1:0"); err == nil {
		m.Stop(t.Context())
		t.Fatal("a certificate without a key started")
	}
	m.Config.KeyFile = certFile // not a key
	if err := m.Start("127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), certFile) {
		t.Errorf("a bad key: %v, want an error naming the files", err)
	}
}
