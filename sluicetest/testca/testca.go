// Package testca makes certificate authorities and certificates at test
// time, and writes them as the key and trust stores Sluice's components
// read (PKCS12 or PEM), so TLS tests need no files made beforehand.
package testca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// CA is a certificate authority with its key.
type CA struct {
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// Leaf is a certificate issued by a CA, with its key.
type Leaf struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	CA   *CA
}

var serial atomic.Int64

// check fails t, or panics when t is nil (a TestMain has no T).
func check(t testing.TB, err error) {
	if err == nil {
		return
	}
	if t == nil {
		panic("testca: " + err.Error())
	}
	t.Helper()
	t.Fatal(err)
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	if t != nil {
		t.Helper()
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	check(t, err)
	return k
}

// New makes a self-signed CA named name. Every function taking a
// testing.TB accepts nil, and then panics on failure.
func New(t testing.TB, name string) *CA {
	if t != nil {
		t.Helper()
	}
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Sluice test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	check(t, err)
	cert, err := x509.ParseCertificate(der)
	check(t, err)
	return &CA{Cert: cert, key: key}
}

// Server issues a certificate for localhost and 127.0.0.1 (and ::1), good
// for server and client authentication both.
func (ca *CA) Server(t testing.TB, cn string) *Leaf {
	return ca.issue(t, cn, []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback})
}

// Client issues a client certificate named cn.
func (ca *CA) Client(t testing.TB, cn string) *Leaf {
	return ca.issue(t, cn, nil, nil)
}

func (ca *CA) issue(t testing.TB, cn string, dns []string, ips []net.IP) *Leaf {
	if t != nil {
		t.Helper()
	}
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Sluice test"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	check(t, err)
	cert, err := x509.ParseCertificate(der)
	check(t, err)
	return &Leaf{Cert: cert, Key: key, CA: ca}
}

// TLS is the leaf as a crypto/tls certificate (chain: leaf, CA).
func (l *Leaf) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{l.Cert.Raw, l.CA.Cert.Raw}, PrivateKey: l.Key, Leaf: l.Cert}
}

// Pool is a certificate pool holding the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

func write(t testing.TB, path string, data []byte) string {
	if t != nil {
		t.Helper()
	}
	check(t, os.WriteFile(path, data, 0o600))
	return path
}

// KeyStoreP12 writes the leaf, its key and the CA as a PKCS12 key store
// protected by password, into dir/name; it returns the path.
func (l *Leaf) KeyStoreP12(t testing.TB, dir, name, password string) string {
	if t != nil {
		t.Helper()
	}
	data, err := pkcs12.Modern.Encode(l.Key, l.Cert, []*x509.Certificate{l.CA.Cert}, password)
	check(t, err)
	return write(t, filepath.Join(dir, name), data)
}

// PEM writes the leaf's chain and unencrypted key in one PEM file (Sluice's
// PEM key store); it returns the path.
func (l *Leaf) PEM(t testing.TB, dir, name string) string {
	if t != nil {
		t.Helper()
	}
	der, err := x509.MarshalPKCS8PrivateKey(l.Key)
	check(t, err)
	var b []byte
	b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.Cert.Raw})...)
	b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.CA.Cert.Raw})...)
	b = append(b, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...)
	return write(t, filepath.Join(dir, name), b)
}

// TrustStoreP12 writes the CA as a PKCS12 trust store protected by
// password; it returns the path.
func (ca *CA) TrustStoreP12(t testing.TB, dir, name, password string) string {
	if t != nil {
		t.Helper()
	}
	data, err := pkcs12.Modern.EncodeTrustStore([]*x509.Certificate{ca.Cert}, password)
	check(t, err)
	return write(t, filepath.Join(dir, name), data)
}

// PEM writes the CA's certificate as a PEM file; it returns the path.
func (ca *CA) PEM(t testing.TB, dir, name string) string {
	if t != nil {
		t.Helper()
	}
	return write(t, filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}))
}
