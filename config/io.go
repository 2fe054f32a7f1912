package config

import (
	"net"
	"net/url"
	"strings"
)

// MQTT configures the shop-floor broker connection. With Broker empty
// fabcell starts an embedded mochi-mqtt broker on EmbeddedAddr.
type MQTT struct {
	// Broker is the URL of an external broker: tcp://host:1883,
	// ssl://host:8883 or ws://host:port. Empty = embedded broker.
	Broker string `yaml:"broker"`
	// EmbeddedAddr is where the embedded broker listens.
	EmbeddedAddr string `yaml:"embedded_addr"`
	// TopicPrefix is the first topic level(s); topics are
	// <prefix>/<cell name>/... .
	TopicPrefix string `yaml:"topic_prefix"`
	// ClientID defaults to "fabcell-<cell name>"; it must be stable so the
	// persistent session survives restarts.
	ClientID string `yaml:"client_id"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// PasswordFile, if set, is read instead of Password (keeps secrets out
	// of the cell file).
	PasswordFile string `yaml:"password_file"`
	TLS          TLS    `yaml:"tls"`
	// QoS for commands and status (0..2; default 1).
	QoS int `yaml:"qos"`
	// MaxPayloadBytes rejects larger inbound messages.
	MaxPayloadBytes int `yaml:"max_payload_bytes"`
	// TelemetryHz is the maximum telemetry publish rate.
	TelemetryHz float64 `yaml:"telemetry_hz"`
	// KeepAliveS is the MQTT keep-alive.
	KeepAliveS int `yaml:"keep_alive_s"`
	// Sparkplug additionally publishes spBv1.0 NBIRTH/NDATA/NDEATH under
	// SparkplugGroup.
	Sparkplug      bool   `yaml:"sparkplug"`
	SparkplugGroup string `yaml:"sparkplug_group"`
	// SparkplugHostID, if set, names the Sparkplug primary host application:
	// the node publishes NBIRTH only while spBv1.0/STATE/<host id> says
	// online (Sparkplug 3.0 §5.11). Empty = birth at once.
	SparkplugHostID string `yaml:"sparkplug_host_id"`
	// ModelDir is the directory model references of jobs submitted over
	// MQTT are resolved in; references may not leave it (no absolute
	// paths, no "..", no symlinks pointing outside).
	ModelDir string `yaml:"model_dir"`
	// AutoStart starts submitted jobs as soon as the cell is free; false =
	// a job waits for a start command (MQTT jobs/<id>/start, the pendant's
	// start_job or the web page's Start button).
	AutoStart bool `yaml:"auto_start"`
	// ReconnectMaxS caps the exponential reconnect back-off (paho starts at
	// 1 s and doubles).
	ReconnectMaxS float64 `yaml:"reconnect_max_s"`
	// EmbeddedAuthFile is a mochi-mqtt auth ledger (YAML: users with
	// passwords and per-user ACL filters) enforced by the embedded broker;
	// empty = the embedded broker accepts every client (keep it on
	// loopback then).
	EmbeddedAuthFile string `yaml:"embedded_auth_file"`
}

// TLS holds client TLS material for the broker connection.
type TLS struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

func (m *MQTT) applyDefaults() {
	def(&m.EmbeddedAddr, "127.0.0.1:1883")
	def(&m.TopicPrefix, "fabcell")
	def(&m.QoS, 1)
	def(&m.MaxPayloadBytes, 4<<20)
	def(&m.TelemetryHz, 2)
	def(&m.KeepAliveS, 30)
	def(&m.SparkplugGroup, "fabcell")
	def(&m.ModelDir, "models")
	def(&m.ReconnectMaxS, 30)
}

func (m MQTT) validate(v *validator) {
	if m.Broker != "" {
		u, err := url.Parse(m.Broker)
		if err != nil || u.Host == "" {
			v.add("mqtt.broker", "%q is not a broker URL like tcp://host:1883", m.Broker)
		} else {
			v.oneOf("mqtt.broker", u.Scheme, "tcp", "ssl", "tls", "mqtt", "mqtts", "ws", "wss")
		}
	}
	if _, _, err := net.SplitHostPort(m.EmbeddedAddr); err != nil {
		v.add("mqtt.embedded_addr", "%q: want host:port", m.EmbeddedAddr)
	}
	if m.TopicPrefix == "" || strings.ContainsAny(m.TopicPrefix, "+#") || strings.HasPrefix(m.TopicPrefix, "/") || strings.HasSuffix(m.TopicPrefix, "/") {
		v.add("mqtt.topic_prefix", "%q: must be non-empty, without + or #, not starting or ending with /", m.TopicPrefix)
	}
	v.within("mqtt.qos", float64(m.QoS), 0, 2)
	v.within("mqtt.max_payload_bytes", float64(m.MaxPayloadBytes), 64, 256<<20)
	v.within("mqtt.telemetry_hz", m.TelemetryHz, 0.01, 100)
	v.within("mqtt.keep_alive_s", float64(m.KeepAliveS), 1, 3600)
	if m.Password != "" && m.PasswordFile != "" {
		v.add("mqtt.password_file", "set either password or password_file, not both")
	}
	if (m.TLS.CertFile == "") != (m.TLS.KeyFile == "") {
		v.add("mqtt.tls", "cert_file and key_file must be given together")
	}
	if m.SparkplugGroup == "" || strings.ContainsAny(m.SparkplugGroup, "+/#") {
		v.add("mqtt.sparkplug_group", "%q must be non-empty and must not contain + / #", m.SparkplugGroup)
	}
	if strings.ContainsAny(m.SparkplugHostID, "+/#") {
		v.add("mqtt.sparkplug_host_id", "%q must not contain + / #", m.SparkplugHostID)
	}
	if m.ModelDir == "" {
		v.add("mqtt.model_dir", "must name a directory")
	}
	v.within("mqtt.reconnect_max_s", m.ReconnectMaxS, 1, 3600)
	if m.EmbeddedAuthFile != "" && m.Broker != "" {
		v.add("mqtt.embedded_auth_file", "only applies to the embedded broker (mqtt.broker is %q)", m.Broker)
	}
}

// Serial configures serial ports of process heads.
type Serial struct {
	// ExtruderPort is the dual-nozzle head's controller board (e.g.
	// /dev/ttyACM0). Empty = the built-in board simulator on a pty.
	ExtruderPort string `yaml:"extruder_port"`
	Baud         int    `yaml:"baud"`
	// ResponseTimeoutS is how long to wait for "ok" before the line counts
	// as lost.
	ResponseTimeoutS float64 `yaml:"response_timeout_s"`
	// HeatTimeoutS bounds M109/M190 waits.
	HeatTimeoutS float64 `yaml:"heat_timeout_s"`
	// MaxResends is how often a line is resent before giving up.
	MaxResends int `yaml:"max_resends"`
	// InFlight is how many numbered lines are sent ahead of their "ok"
	// (1 = strict ping-pong). Keep it below the board's command buffer
	// (Marlin BUFSIZE, 4 by default).
	InFlight int `yaml:"in_flight"`
}

func (s *Serial) applyDefaults() {
	def(&s.Baud, 115200)
	def(&s.ResponseTimeoutS, 5)
	def(&s.HeatTimeoutS, 600)
	def(&s.MaxResends, 5)
	def(&s.InFlight, 1)
}

func (s Serial) validate(v *validator) {
	switch s.Baud {
	case 9600, 19200, 38400, 57600, 115200, 230400, 250000, 460800, 500000, 921600, 1000000:
	default:
		v.add("serial.baud", "unsupported baud rate %d", s.Baud)
	}
	v.within("serial.response_timeout_s", s.ResponseTimeoutS, 0.01, 3600)
	v.within("serial.heat_timeout_s", s.HeatTimeoutS, 1, 24*3600)
	v.within("serial.max_resends", float64(s.MaxResends), 0, 100)
	v.within("serial.in_flight", float64(s.InFlight), 1, 16)
}

// Pendant configures the operator interfaces served by `fabcell serve`.
type Pendant struct {
	// XMLRPCAddr is where the teach-pendant XML-RPC server listens
	// (URScript: rpc_factory("xmlrpc", "http://<host>:<port>/RPC2")); empty
	// disables it.
	XMLRPCAddr string `yaml:"xmlrpc_addr"`
	// AllowedClients lists IPs or CIDRs allowed to call XML-RPC (the robot
	// controller's address); others get HTTP 403.
	AllowedClients []string `yaml:"allowed_clients"`
	// WebAddr serves the web pendant page; empty disables it.
	WebAddr string `yaml:"web_addr"`
	// WebToken protects the web page and its API; TokenFile is read instead
	// when set. A non-loopback WebAddr requires a token. With neither set
	// (loopback only) `fabcell serve` generates a random token into
	// <controller.journal_dir>/web-token (mode 0600).
	WebToken     string `yaml:"web_token"`
	WebTokenFile string `yaml:"web_token_file"`
	// WebUpdateHz is the maximum rate of live status updates pushed to each
	// open web page (server-sent events).
	WebUpdateHz float64 `yaml:"web_update_hz"`
}

func (p *Pendant) applyDefaults() {
	def(&p.XMLRPCAddr, "127.0.0.1:50080")
	if p.AllowedClients == nil {
		p.AllowedClients = []string{"127.0.0.1/32", "::1/128"}
	}
	def(&p.WebAddr, "127.0.0.1:8080")
	def(&p.WebUpdateHz, 5)
}

func (p Pendant) validate(v *validator) {
	if p.XMLRPCAddr != "" {
		if _, _, err := net.SplitHostPort(p.XMLRPCAddr); err != nil {
			v.add("pendant.xmlrpc_addr", "%q: want host:port", p.XMLRPCAddr)
		}
	}
	for i, c := range p.AllowedClients {
		if net.ParseIP(c) == nil {
			if _, _, err := net.ParseCIDR(c); err != nil {
				v.add("pendant.allowed_clients", "entry %d %q is neither an IP nor a CIDR", i, c)
			}
		}
	}
	if p.WebAddr != "" {
		host, _, err := net.SplitHostPort(p.WebAddr)
		if err != nil {
			v.add("pendant.web_addr", "%q: want host:port", p.WebAddr)
		} else if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" && p.WebToken == "" && p.WebTokenFile == "" {
			v.add("pendant.web_token", "required when web_addr %q is not a loopback address", p.WebAddr)
		}
	}
	if p.WebToken != "" && p.WebTokenFile != "" {
		v.add("pendant.web_token_file", "set either web_token or web_token_file, not both")
	}
	if p.WebToken != "" && len(p.WebToken) < 16 {
		v.add("pendant.web_token", "too short (%d characters): use at least 16", len(p.WebToken))
	}
	v.within("pendant.web_update_hz", p.WebUpdateHz, 0.1, 50)
}

// Controller configures the job runtime.
type Controller struct {
	// LookaheadDepth is how many checked moves the planner may run ahead of
	// execution.
	LookaheadDepth int `yaml:"lookahead_depth"`
	// JournalDir holds one durable journal per job.
	JournalDir string `yaml:"journal_dir"`
	// ReportDir receives run reports (JSON + HTML + PNG).
	ReportDir string `yaml:"report_dir"`
	// AckTimeoutS bounds the wait for a dispatched step's acknowledgement.
	AckTimeoutS float64 `yaml:"ack_timeout_s"`
	// TimeScale speeds up simulated execution in dry runs (1 = real time).
	TimeScale float64 `yaml:"time_scale"`
}

func (c *Controller) applyDefaults() {
	def(&c.LookaheadDepth, 32)
	def(&c.JournalDir, "fabcell-journal")
	def(&c.ReportDir, "fabcell-reports")
	def(&c.AckTimeoutS, 60)
	def(&c.TimeScale, 1)
}

func (c Controller) validate(v *validator) {
	v.within("controller.lookahead_depth", float64(c.LookaheadDepth), 1, 1e6)
	v.positive("controller.ack_timeout_s", c.AckTimeoutS)
	v.within("controller.time_scale", c.TimeScale, 0.001, 10000)
}
