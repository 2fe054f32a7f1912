package mes

import (
	"context"
	"fmt"
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
		pw, err := config.ReadSecret(cfg.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.password_file: %w", err)
		}
		o.SetPassword(pw)
	case cfg.Password != "":
		o.SetPassword(cfg.Password)
	}
	tc, err := cfg.TLS.ClientConfig(broker)
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
