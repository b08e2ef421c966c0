// Package tlsconf turns Flume's SSL properties into crypto/tls
// configurations: key stores for servers, trust stores for clients, and the
// include/exclude lists of protocols and cipher suites.
//
// Store types are those Flume reads through Java's KeyStore (JKS, PKCS12)
// plus PEM, a Sluice extension. As with Java 17, whose JKS and PKCS12 key
// store types each read both formats, the file's content decides how it is
// parsed; the type only has to be one of the three.
package tlsconf

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"
)

// CheckType accepts the store types Sluice reads: JKS, PKCS12 and PEM,
// ignoring case as Java's KeyStore.getInstance does.
func CheckType(typ string) error {
	switch strings.ToUpper(strings.TrimSpace(typ)) {
	case "JKS", "PKCS12", "PEM":
		return nil
	}
	return fmt.Errorf("%q is not a supported store type (JKS, PKCS12 or PEM)", typ)
}

type format int

const (
	fmtJKS format = iota
	fmtPKCS12
	fmtPEM
)

func sniff(data []byte) (format, error) {
	switch {
	case len(data) >= 4 && bytes.Equal(data[:4], []byte{0xfe, 0xed, 0xfe, 0xed}):
		return fmtJKS, nil
	case bytes.Contains(data, []byte("-----BEGIN ")):
		return fmtPEM, nil
	case len(data) > 0 && data[0] == 0x30:
		return fmtPKCS12, nil
	}
	return 0, errors.New("neither a JKS, a PKCS12 nor a PEM file")
}

// LoadKeyStore reads the server's private key and certificate chain from a
// key store. For JKS and PKCS12 the key is protected by password, as Flume
// requires (its key manager uses the store password for the key). A PEM key
// store is one file holding the certificate chain, leaf first, and an
// unencrypted private key (PKCS#1, PKCS#8 or SEC 1); password is ignored.
func LoadKeyStore(path, password, typ string) (tls.Certificate, error) {
	return LoadKeyStoreKeyPassword(path, password, password, typ)
}

// LoadKeyStoreKeyPassword is LoadKeyStore for a JKS store whose key has its
// own password (Kafka's ssl.key.password); keyPassword is ignored for PKCS12
// and PEM stores.
func LoadKeyStoreKeyPassword(path, password, keyPassword, typ string) (tls.Certificate, error) {
	if err := CheckType(typ); err != nil {
		return tls.Certificate{}, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("keystore: %w", err)
	}
	f, err := sniff(data)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("keystore %s: %w", path, err)
	}
	var cert tls.Certificate
	switch f {
	case fmtJKS:
		cert, err = jksKey(data, password, keyPassword)
	case fmtPKCS12:
		cert, err = pkcs12Key(data, password)
	case fmtPEM:
		cert, err = tls.X509KeyPair(data, data)
	}
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("keystore %s: %w", path, err)
	}
	return cert, nil
}

func jksKey(data []byte, password, keyPassword string) (tls.Certificate, error) {
	ks := keystore.New()
	if err := ks.Load(bytes.NewReader(data), []byte(password)); err != nil {
		return tls.Certificate{}, fmt.Errorf("JKS (wrong password?): %w", err)
	}
	for _, alias := range ks.Aliases() {
		if !ks.IsPrivateKeyEntry(alias) {
			continue
		}
		e, err := ks.GetPrivateKeyEntry(alias, []byte(keyPassword))
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("JKS key %q (wrong key password? Flume's own components use the store's): %w", alias, err)
		}
		key, err := x509.ParsePKCS8PrivateKey(e.PrivateKey)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("JKS key %q: %w", alias, err)
		}
		var chain [][]byte
		for _, c := range e.CertificateChain {
			chain = append(chain, c.Content)
		}
		return certificate(key, chain)
	}
	return tls.Certificate{}, errors.New("JKS holds no private key entry")
}

func pkcs12Key(data []byte, password string) (tls.Certificate, error) {
	key, leaf, cas, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("PKCS12: %w", err)
	}
	chain := [][]byte{leaf.Raw}
	for _, c := range cas {
		chain = append(chain, c.Raw)
	}
	return certificate(key, chain)
}

func certificate(key any, chain [][]byte) (tls.Certificate, error) {
	if len(chain) == 0 {
		return tls.Certificate{}, errors.New("private key without a certificate")
	}
	switch key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
	default:
		return tls.Certificate{}, fmt.Errorf("unsupported private key type %T", key)
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return tls.Certificate{}, err
	}
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.(crypto.Signer).Public()) {
		return tls.Certificate{}, errors.New("the private key does not match the certificate")
	}
	return tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

// LoadTrustStore reads the certificates a client trusts. As Java's trust
// manager does, it trusts the trusted-certificate entries of a JKS or
// PKCS12 store and the certificates of its key entries. A PEM trust store is
// a file of certificates.
func LoadTrustStore(path, password, typ string) (*x509.CertPool, error) {
	if err := CheckType(typ); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("truststore: %w", err)
	}
	f, err := sniff(data)
	if err != nil {
		return nil, fmt.Errorf("truststore %s: %w", path, err)
	}
	var certs []*x509.Certificate
	switch f {
	case fmtJKS:
		certs, err = jksCerts(data, password)
	case fmtPKCS12:
		certs, err = pkcs12Certs(data, password)
	case fmtPEM:
		certs, err = pemCerts(data)
	}
	if err == nil && len(certs) == 0 {
		err = errors.New("holds no certificate")
	}
	if err != nil {
		return nil, fmt.Errorf("truststore %s: %w", path, err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

func jksCerts(data []byte, password string) ([]*x509.Certificate, error) {
	if password == "" {
		// Java reads a trust store without a password, skipping only the
		// integrity check; keystore-go cannot, so read it here.
		return jksCertsUnchecked(data)
	}
	ks := keystore.New()
	if err := ks.Load(bytes.NewReader(data), []byte(password)); err != nil {
		return nil, fmt.Errorf("JKS (wrong truststore-password?): %w", err)
	}
	var out []*x509.Certificate
	for _, alias := range ks.Aliases() {
		var raw []byte
		switch {
		case ks.IsTrustedCertificateEntry(alias):
			e, err := ks.GetTrustedCertificateEntry(alias)
			if err != nil {
				return nil, err
			}
			raw = e.Certificate.Content
		case ks.IsPrivateKeyEntry(alias):
			chain, err := ks.GetPrivateKeyEntryCertificateChain(alias)
			if err != nil || len(chain) == 0 {
				continue
			}
			raw = chain[0].Content
		default:
			continue
		}
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			return nil, fmt.Errorf("JKS entry %q: %w", alias, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func pkcs12Certs(data []byte, password string) ([]*x509.Certificate, error) {
	certs, err := pkcs12.DecodeTrustStore(data, password)
	if err == nil {
		return certs, nil
	}
	// A store of key entries rather than trusted certificates.
	_, leaf, cas, err2 := pkcs12.DecodeChain(data, password)
	if err2 != nil {
		return nil, fmt.Errorf("PKCS12: %w", err)
	}
	return append([]*x509.Certificate{leaf}, cas...), nil
}

func pemCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out, nil
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}
