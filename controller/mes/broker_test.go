package mes

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"fabcell/config"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// TestBrokerCloseQuiet: closing the embedded broker while clients are
// connected logs nothing: it used to print one message-less warning per
// connection it cut ("use of closed network connection") at the end of
// every dry run and serve session.
func TestBrokerCloseQuiet(t *testing.T) {
	var buf lockedBuf
	cfg := config.Defaults().MQTT
	cfg.EmbeddedAddr = "127.0.0.1:0"
	b, err := StartBroker(cfg, slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID(t.Name() + string(rune('a'+i))).SetAutoReconnect(false))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		defer c.Disconnect(0)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the connection goroutines end
	if s := buf.String(); strings.Contains(s, "level=WARN") {
		t.Fatalf("closing logged:\n%s", s)
	}
}
