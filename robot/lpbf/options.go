package lpbf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"fabcell/config"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Options configure a Link. Zero values take the documented defaults.
type Options struct {
	// BrokerURL is tcp://host:port, ssl://host:port (also tls, mqtt, mqtts)
	// or ws(s)://host:port/path.
	BrokerURL string
	// Prefix and Cell form the topics <Prefix>/<Cell>/lpbf/...
	Prefix, Cell string
	// ClientID must be stable across restarts so the broker keeps the
	// persistent session (CleanSession=false): queued acks and state reach
	// the restarted controller. Default "fabcell-<Cell>-lpbf".
	ClientID           string
	Username, Password string
	TLS                *tls.Config
	// QoS of every message: 1 (default, also for 0: the protocol needs
	// at-least-once delivery) or 2.
	QoS byte
	// KeepAlive (default 30 s) and ConnectTimeout per attempt (default
	// 10 s).
	KeepAlive, ConnectTimeout time.Duration
	// ReconnectMax caps the exponential reconnect back-off (default 30 s;
	// paho starts at 1 s, or at ReconnectMax when that is smaller).
	ReconnectMax time.Duration
	// AckTimeout is how long the machine may take to acknowledge a message
	// beyond the chunk's own time estimate, counted only while the link is
	// connected and the machine online (default 60 s).
	AckTimeout time.Duration
	// MaxPayloadBytes bounds every outgoing message (default 4 MiB).
	MaxPayloadBytes int
	Log             *slog.Logger
}

func (o *Options) defaults() error {
	if o.BrokerURL == "" {
		return errors.New("lpbf: no broker URL")
	}
	u, err := url.Parse(o.BrokerURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("lpbf: broker %q is not a URL like tcp://host:1883", o.BrokerURL)
	}
	if o.ClientID == "" {
		o.ClientID = "fabcell-" + o.Cell + "-lpbf"
	}
	switch o.QoS {
	case 0:
		o.QoS = 1
	case 1, 2:
	default:
		return fmt.Errorf("lpbf: QoS %d: want 1 or 2", o.QoS)
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 30 * time.Second
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.ReconnectMax <= 0 {
		o.ReconnectMax = 30 * time.Second
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 60 * time.Second
	}
	if o.MaxPayloadBytes <= 0 {
		o.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	if o.MaxPayloadBytes < 1024 {
		return fmt.Errorf("lpbf: max payload %d bytes: want at least 1024", o.MaxPayloadBytes)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return nil
}

// OptionsFromConfig returns the link options of a cell: mqtt.broker (or
// the embedded broker's tcp://mqtt.embedded_addr), topic prefix, client id
// mqtt.client_id (default "fabcell-<cell>") + "-lpbf" — a connection of
// its own next to the MES client —, credentials (password or
// password_file), TLS files, QoS, keep-alive, reconnect back-off, payload
// limit and controller.ack_timeout_s.
func OptionsFromConfig(cell config.Cell) (Options, error) {
	m := cell.MQTT
	o := Options{
		BrokerURL: m.Broker, Prefix: m.TopicPrefix, Cell: cell.Name, Username: m.Username,
		QoS:             byte(max(0, min(2, m.QoS))),
		KeepAlive:       time.Duration(m.KeepAliveS) * time.Second,
		ReconnectMax:    time.Duration(m.ReconnectMaxS * float64(time.Second)),
		AckTimeout:      time.Duration(cell.Controller.AckTimeoutS * float64(time.Second)),
		MaxPayloadBytes: m.MaxPayloadBytes,
	}
	if o.BrokerURL == "" {
		o.BrokerURL = "tcp://" + m.EmbeddedAddr
	}
	id := m.ClientID
	if id == "" {
		id = "fabcell-" + cell.Name
	}
	o.ClientID = id + "-lpbf"
	switch {
	case m.PasswordFile != "":
		pw, err := config.ReadSecret(m.PasswordFile)
		if err != nil {
			return o, fmt.Errorf("mqtt.password_file: %w", err)
		}
		o.Password = pw
	default:
		o.Password = m.Password
	}
	tc, err := m.TLS.ClientConfig(o.BrokerURL)
	if err != nil {
		return o, err
	}
	o.TLS = tc
	return o, nil
}

// SetCredentials sets the username, password and TLS configuration (those
// that are non-empty) on a paho client's options; shared by the link and
// the machine simulator.
func SetCredentials(po *paho.ClientOptions, username, password string, tc *tls.Config) {
	if username != "" {
		po.SetUsername(username)
	}
	if password != "" {
		po.SetPassword(password)
	}
	if tc != nil {
		po.SetTLSConfig(tc)
	}
}
