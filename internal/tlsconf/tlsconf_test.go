package tlsconf

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
)

// The stores in testdata come from Java 17's keytool (see gen.sh).
const pw = "changeit"

func handshake(t *testing.T, srv, cli *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	s := tls.Server(a, srv)
	errc := make(chan error, 1)
	go func() {
		err := s.Handshake()
		if err != nil {
			a.Close()
		}
		errc <- err
	}()
	c := tls.Client(b, cli)
	err := c.Handshake()
	if err != nil {
		b.Close()
	}
	serr := <-errc
	if err == nil {
		err = serr
	}
	return c.ConnectionState(), err
}

func TestKeyStoresAndTrustStores(t *testing.T) {
	keystores := []struct{ path, typ string }{
		{"testdata/server.jks", "JKS"},
		{"testdata/server.p12", "PKCS12"},
		{"testdata/server.pem", "PEM"},
		// Java 17's JKS and PKCS12 types each read both formats.
		{"testdata/server.p12", "jks"},
		{"testdata/server.jks", "pkcs12"},
	}
	truststores := []struct{ path, pass, typ string }{
		{"testdata/trust.jks", pw, "JKS"},
		{"testdata/trust.jks", "", "JKS"}, // Java reads a trust store without its password
		{"testdata/trust.p12", pw, "PKCS12"},
		{"testdata/server.crt", "", "PEM"},
		{"testdata/server.jks", pw, "JKS"}, // key entries' certificates are trusted too
	}
	for _, ks := range keystores {
		srv, _, err := Server(Params{KeyStore: ks.path, KeyStorePassword: pw, KeyStoreType: ks.typ})
		if err != nil {
			t.Fatalf("%s as %s: %v", ks.path, ks.typ, err)
		}
		for _, ts := range truststores {
			cli, _, err := Client(Params{TrustStore: ts.path, TrustStorePassword: ts.pass, TrustStoreType: ts.typ})
			if err != nil {
				t.Fatalf("truststore %s: %v", ts.path, err)
			}
			if _, err := handshake(t, srv, cli); err != nil {
				t.Errorf("keystore %s (%s), truststore %s: %v", ks.path, ks.typ, ts.path, err)
			}
		}
	}
}

func TestUntrustedServerRefused(t *testing.T) {
	srv, _, err := Server(Params{KeyStore: "testdata/other.jks", KeyStorePassword: pw, KeyStoreType: "JKS"})
	if err != nil {
		t.Fatal(err)
	}
	cli, _, err := Client(Params{TrustStore: "testdata/trust.jks", TrustStorePassword: pw, TrustStoreType: "JKS"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(t, srv, cli); err == nil || !strings.Contains(err.Error(), "not trusted") {
		t.Fatalf("untrusted server accepted: %v", err)
	}
	// With no trust store the system roots apply, which do not hold it.
	cli, _, _ = Client(Params{})
	if _, err := handshake(t, srv, cli); err == nil {
		t.Fatal("self-signed server accepted with the system roots")
	}
	cli, _, _ = Client(Params{TrustAll: true})
	if _, err := handshake(t, srv, cli); err != nil {
		t.Fatalf("trust-all-certs: %v", err)
	}
}

func TestStoreErrors(t *testing.T) {
	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"wrong JKS password", func() error { _, err := LoadKeyStore("testdata/server.jks", "nope", "JKS"); return err }, "wrong password"},
		{"wrong PKCS12 password", func() error { _, err := LoadKeyStore("testdata/server.p12", "nope", "PKCS12"); return err }, "PKCS12"},
		{"missing file", func() error { _, err := LoadKeyStore("testdata/none.jks", pw, "JKS"); return err }, "no such file"},
		{"bad type", func() error { _, err := LoadKeyStore("testdata/server.jks", pw, "BKS"); return err }, `"BKS" is not a supported store type`},
		{"not a store", func() error { _, err := LoadKeyStore("testdata/gen.sh", pw, "JKS"); return err }, "neither a JKS"},
		{"pem without key", func() error { _, err := LoadKeyStore("testdata/server.crt", "", "PEM"); return err }, "private key"},
		{"trust store with no cert", func() error { _, err := LoadTrustStore("testdata/gen.sh", "", "PEM"); return err }, "neither"},
		{"no keystore", func() error { _, _, err := Server(Params{}); return err }, "keystore is required"},
	}
	for _, tc := range tests {
		if err := tc.err(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestProtocolAndSuiteLists(t *testing.T) {
	base := Params{KeyStore: "testdata/server.jks", KeyStorePassword: pw, KeyStoreType: "JKS", ExcludeProtocols: []string{"SSLv3"}}
	tests := []struct {
		name        string
		mod         func(p *Params)
		wantVersion uint16
		wantErr     string
		wantWarn    string
	}{
		{name: "defaults", mod: func(*Params) {}, wantVersion: tls.VersionTLS13},
		{name: "include TLSv1.2 only", mod: func(p *Params) { p.IncludeProtocols = []string{"TLSv1.2"} }, wantVersion: tls.VersionTLS12},
		{name: "exclude TLSv1.3", mod: func(p *Params) { p.ExcludeProtocols = append(p.ExcludeProtocols, "TLSv1.3") }, wantVersion: tls.VersionTLS12},
		{name: "old protocols alone", mod: func(p *Params) { p.IncludeProtocols = []string{"TLSv1", "TLSv1.1"} }, wantErr: "no TLS protocol version"},
		{name: "unknown protocol", mod: func(p *Params) { p.ExcludeProtocols = []string{"TLSv1_2"} }, wantErr: `"TLSv1_2": not a protocol name`},
		{name: "TLS 1.2 suite only", mod: func(p *Params) { p.IncludeCipherSuites = []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"} }, wantVersion: tls.VersionTLS12},
		{name: "one TLS 1.3 suite excluded", mod: func(p *Params) { p.ExcludeCipherSuites = []string{"TLS_AES_128_GCM_SHA256"} }, wantVersion: tls.VersionTLS13, wantWarn: "cannot disable single TLS 1.3"},
		{name: "unknown suite", mod: func(p *Params) { p.ExcludeCipherSuites = []string{"SSL_RSA_WITH_RC4_128_MD5"} }, wantVersion: tls.VersionTLS13, wantWarn: "SSL_RSA_WITH_RC4_128_MD5"},
		{name: "TLS 1.3 suites only", mod: func(p *Params) { p.IncludeCipherSuites = tls13Suites }, wantVersion: tls.VersionTLS13},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			p.IncludeProtocols = nil
			p.ExcludeProtocols = append([]string(nil), base.ExcludeProtocols...)
			tc.mod(&p)
			srv, warn, err := Server(p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantWarn != "" && !strings.Contains(strings.Join(warn, "\n"), tc.wantWarn) {
				t.Errorf("warnings %q, want %q", warn, tc.wantWarn)
			}
			cli, _, err := Client(Params{TrustAll: true})
			if err != nil {
				t.Fatal(err)
			}
			st, err := handshake(t, srv, cli)
			if err != nil {
				t.Fatal(err)
			}
			if st.Version != tc.wantVersion {
				t.Errorf("negotiated %x, want %x", st.Version, tc.wantVersion)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("FLUME_SSL_KEYSTORE_PATH", "/env/ks.p12")
	t.Setenv("FLUME_SSL_KEYSTORE_PASSWORD", "envpw")
	t.Setenv("FLUME_SSL_KEYSTORE_TYPE", "PKCS12")
	t.Setenv("FLUME_SSL_EXCLUDE_PROTOCOLS", "TLSv1,TLSv1.1")
	p := Params{KeyStoreType: "JKS", ExcludeProtocols: []string{"SSLv3"}}.FromEnv("JKS")
	if p.KeyStore != "/env/ks.p12" || p.KeyStorePassword != "envpw" || p.KeyStoreType != "PKCS12" {
		t.Errorf("%+v", p)
	}
	if strings.Join(p.ExcludeProtocols, " ") != "SSLv3 TLSv1 TLSv1.1" {
		t.Errorf("exclude %q", p.ExcludeProtocols)
	}
	// Properties set in the configuration win.
	p = Params{KeyStore: "/conf/ks.jks", KeyStoreType: "PEM"}.FromEnv("JKS")
	if p.KeyStore != "/conf/ks.jks" || p.KeyStoreType != "PEM" {
		t.Errorf("%+v", p)
	}
}
