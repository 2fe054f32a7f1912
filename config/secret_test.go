package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, body, want, err string
	}{
		{"lf", "s3cret\nignored\n", "s3cret", ""},
		{"crlf", "s3cret\r\n", "s3cret", ""},
		{"noeol", "tok en", "tok en", ""},
		{"empty", "", "", "empty"},
		{"blankfirst", "\nsecond", "", "empty"},
		{"huge", strings.Repeat("x", 5000), "", "larger than 4096 bytes"},
	} {
		p := write(tc.name, tc.body)
		got, err := ReadSecret(p)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), p) {
				t.Errorf("%s: err %v, want one naming %s and %q", tc.name, err, p, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if _, err := ReadSecret(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file accepted")
	}
}

// selfSigned writes a self-signed ECDSA certificate and its key as PEM.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fabcell test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

func TestTLSClientConfig(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not a certificate"), 0o600)

	if tc, err := (TLS{}).ClientConfig("tcp://127.0.0.1:1883"); tc != nil || err != nil {
		t.Errorf("plain broker without TLS files: %v, %v; want nil, nil", tc, err)
	}
	tc, err := (TLS{}).ClientConfig("ssl://broker:8883")
	if err != nil || tc == nil || tc.RootCAs != nil || tc.MinVersion < 0x0303 {
		t.Errorf("ssl broker: %+v, %v; want TLS ≥ 1.2 with system roots", tc, err)
	}
	tc, err = (TLS{CAFile: cert, CertFile: cert, KeyFile: key}).ClientConfig("tcp://broker:1883")
	if err != nil || tc == nil || tc.RootCAs == nil || len(tc.Certificates) != 1 {
		t.Errorf("CA and client pair: %+v, %v", tc, err)
	}
	for _, c := range []struct {
		t    TLS
		want string
	}{
		{TLS{CAFile: filepath.Join(dir, "missing.pem")}, "mqtt.tls.ca_file"},
		{TLS{CAFile: junk}, "no PEM certificate found"},
		{TLS{CertFile: cert, KeyFile: junk}, "mqtt.tls.cert_file/key_file"},
	} {
		if _, err := c.t.ClientConfig("ssl://broker:8883"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v, want %q", c.t, err, c.want)
		}
	}
	if _, err := (TLS{}).ClientConfig("ssl://bro ker:%zz"); err == nil || !strings.Contains(err.Error(), "broker") {
		t.Errorf("malformed broker URL: %v", err)
	}
}
