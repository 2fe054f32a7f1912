package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// maxSecretBytes bounds a password or token file; anything larger is not
// a secret file but a mistake (a certificate, a log).
const maxSecretBytes = 4096

// ReadSecret reads a password or token file: its first line without the
// line break (LF or CRLF). An empty first line, or a file larger than
// 4096 bytes, is an error naming the file.
func ReadSecret(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if len(data) > maxSecretBytes {
		return "", fmt.Errorf("%s: larger than %d bytes", path, maxSecretBytes)
	}
	s, _, _ := strings.Cut(string(data), "\n")
	s = strings.TrimRight(s, "\r")
	if s == "" {
		return "", fmt.Errorf("%s: empty", path)
	}
	return s, nil
}

// ClientConfig builds the client TLS configuration for a connection to
// broker (a URL): nil when the scheme is plain (tcp, ws, mqtt) and no CA or
// client certificate is configured; otherwise TLS ≥ 1.2 with the CA file
// as the only root (system roots when empty) and the client key pair.
// Errors name the config key (mqtt.tls.*) and the file.
func (t TLS) ClientConfig(broker string) (*tls.Config, error) {
	u, err := url.Parse(broker)
	if err != nil {
		return nil, fmt.Errorf("mqtt: broker %q: %w", broker, err)
	}
	secure := false
	switch u.Scheme {
	case "ssl", "tls", "mqtts", "wss", "tcps":
		secure = true
	}
	if !secure && t.CAFile == "" && t.CertFile == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // explicit opt-in (tests)
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt.tls.ca_file %s: no PEM certificate found", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.tls.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
