package mes

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"fabcell/config"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// BrokerURL returns the broker a cell's clients connect to: mqtt.broker, or
// tcp://<mqtt.embedded_addr> for the embedded broker.
func BrokerURL(cfg config.MQTT) string {
	if cfg.Broker != "" {
		return cfg.Broker
	}
	return "tcp://" + cfg.EmbeddedAddr
}

// ClientID returns mqtt.client_id or "fabcell-<cell>" followed by suffix
// (e.g. "-lpbf" for a second connection of the same controller). The id is
// stable across restarts so the broker keeps the persistent session.
func ClientID(cfg config.MQTT, cell, suffix string) string {
	id := cfg.ClientID
	if id == "" {
		id = "fabcell-" + cell
	}
	return id + suffix
}

// ReadSecret reads a password or token file: the first line, without the
// line break. An empty secret is an error.
func ReadSecret(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if len(data) > 4096 {
		return "", fmt.Errorf("%s: larger than 4096 bytes", path)
	}
	s, _, _ := strings.Cut(string(data), "\n")
	s = strings.TrimRight(s, "\r")
	if s == "" {
		return "", fmt.Errorf("%s: empty", path)
	}
	return s, nil
}

// TLSConfig builds the client TLS configuration of cfg.TLS (nil when the
// broker URL is not a TLS scheme and no TLS file is configured).
func TLSConfig(cfg config.MQTT, broker string) (*tls.Config, error) {
	u, err := url.Parse(broker)
	if err != nil {
		return nil, fmt.Errorf("mqtt: broker %q: %w", broker, err)
	}
	secure := false
	switch u.Scheme {
	case "ssl", "tls", "mqtts", "wss", "tcps":
		secure = true
	}
	t := cfg.TLS
	if !secure && t.CAFile == "" && t.CertFile == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // opt-in for tests
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

// ClientOptions returns paho options for a client of the cell's broker
// with the cell's settings: credentials (password or password_file), TLS,
// keep-alive, a persistent session (CleanSession=false) under the stable
// client id, automatic reconnect with exponential back-off capped at
// mqtt.reconnect_max_s, retried initial connect, and ordered delivery.
// Callers add their handlers and Will.
func ClientOptions(cfg config.MQTT, clientID string) (*paho.ClientOptions, error) {
	broker := BrokerURL(cfg)
	o := paho.NewClientOptions().AddBroker(broker).SetClientID(clientID)
	if cfg.Username != "" {
		o.SetUsername(cfg.Username)
	}
	switch {
	case cfg.PasswordFile != "":
		pw, err := ReadSecret(cfg.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.password_file: %w", err)
		}
		o.SetPassword(pw)
	case cfg.Password != "":
		o.SetPassword(cfg.Password)
	}
	tc, err := TLSConfig(cfg, broker)
	if err != nil {
		return nil, err
	}
	if tc != nil {
		o.SetTLSConfig(tc)
	}
	maxBackoff := time.Duration(cfg.ReconnectMaxS * float64(time.Second))
	if maxBackoff <= 0 {
		maxBackoff = 30 * time.Second
	}
	o.SetKeepAlive(time.Duration(cfg.KeepAliveS) * time.Second).
		SetPingTimeout(10 * time.Second).
		SetCleanSession(false).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(maxBackoff).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetConnectTimeout(10 * time.Second).
		SetWriteTimeout(10 * time.Second).
		SetOrderMatters(true)
	return o, nil
}

// Dial connects a client built from opts and waits for the first
// connection (or ctx). With ConnectRetry set the client keeps retrying in
// the background until ctx ends; on ctx's end it is disconnected.
func Dial(ctx context.Context, opts *paho.ClientOptions) (paho.Client, error) {
	c := paho.NewClient(opts)
	tok := c.Connect()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return nil, fmt.Errorf("mqtt connect %v: %w", brokersOf(opts), err)
		}
		return c, nil
	case <-ctx.Done():
		c.Disconnect(0)
		return nil, fmt.Errorf("mqtt connect %v: %w", brokersOf(opts), ctx.Err())
	}
}

func brokersOf(o *paho.ClientOptions) []string {
	var s []string
	for _, u := range o.Servers {
		s = append(s, u.Redacted())
	}
	return s
}

// wait waits for a token with a context.
func wait(ctx context.Context, t paho.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}
