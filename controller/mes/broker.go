package mes

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"fabcell/config"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Broker is the embedded mochi-mqtt broker fabcell starts in-process when
// mqtt.broker is empty. It keeps retained messages and persistent sessions
// in memory for as long as it runs (a restart of fabcell loses them; the
// controller republishes its retained state on every connection).
type Broker struct {
	srv     *mqtt.Server
	addr    string
	closing *atomic.Bool
}

// StartBroker starts the embedded broker on cfg.EmbeddedAddr (port 0 picks
// a free port; see Addr). With cfg.EmbeddedAuthFile set, its mochi auth
// ledger (users, passwords, ACL filters) is enforced; otherwise every
// client is accepted. Retained commands are refused at the broker (see
// retainGuard): not stored, not delivered, answered with an error event.
// The broker accepts packets up to 4×
// mqtt.max_payload_bytes so that the controller, not the broker, answers
// oversize messages with an error event.
func StartBroker(cfg config.MQTT, log *slog.Logger) (*Broker, error) {
	if log == nil {
		log = slog.Default()
	}
	closing := new(atomic.Bool)
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = uint32(min(int64(cfg.MaxPayloadBytes)*4+64<<10, 256<<20))
	srv := mqtt.New(&mqtt.Options{
		InlineClient: true,
		Capabilities: caps,
		// mochi logs every connection at Info; keep only its warnings.
		Logger: slog.New(levelFloor{log.Handler(), slog.LevelWarn, closing}),
	})
	if cfg.EmbeddedAuthFile != "" {
		data, err := os.ReadFile(cfg.EmbeddedAuthFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.embedded_auth_file: %w", err)
		}
		l := new(auth.Ledger)
		if err := l.Unmarshal(data); err != nil {
			return nil, fmt.Errorf("mqtt.embedded_auth_file %s: %w", cfg.EmbeddedAuthFile, err)
		}
		if err := srv.AddHook(new(auth.Hook), &auth.Options{Ledger: l}); err != nil {
			return nil, err
		}
	} else if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, err
	}
	guard := &retainGuard{prefix: cfg.TopicPrefix, qos: byte(min(max(cfg.QoS, 0), 2)), log: log.With("component", "mqtt-broker"),
		srv: srv, now: time.Now, tokens: errBurst}
	if err := srv.AddHook(guard, nil); err != nil {
		return nil, err
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "fabcell", Address: cfg.EmbeddedAddr})
	if err := srv.AddListener(tcp); err != nil {
		return nil, fmt.Errorf("embedded broker on %s: %w", cfg.EmbeddedAddr, err)
	}
	if err := srv.Serve(); err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	return &Broker{srv: srv, addr: tcp.Address(), closing: closing}, nil
}

// Addr returns the address the broker listens on (host:port).
func (b *Broker) Addr() string { return b.addr }

// URL returns tcp://Addr().
func (b *Broker) URL() string { return "tcp://" + b.addr }

// Close disconnects every client and stops the broker.
func (b *Broker) Close() error {
	b.closing.Store(true) // the connections it cuts are not worth a warning
	return b.srv.Close()
}

// levelFloor drops records below a level, and while the broker closes,
// mochi's message-less warnings about the client connections it closes
// ("use of closed network connection", EOF).
type levelFloor struct {
	slog.Handler
	floor   slog.Level
	closing *atomic.Bool
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.floor && h.Handler.Enabled(ctx, l)
}

func (h levelFloor) Handle(ctx context.Context, r slog.Record) error {
	if h.closing != nil && h.closing.Load() && r.Message == "" && r.Level < slog.LevelError {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h levelFloor) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFloor{h.Handler.WithAttrs(a), h.floor, h.closing}
}

func (h levelFloor) WithGroup(n string) slog.Handler {
	return levelFloor{h.Handler.WithGroup(n), h.floor, h.closing}
}
