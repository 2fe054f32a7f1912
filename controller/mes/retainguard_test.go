package mes

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"fabcell/config"

	"github.com/mochi-mqtt/server/v2/packets"
)

func TestRetainGuardTopics(t *testing.T) {
	for _, tc := range []struct {
		prefix, topic string
		command       bool
	}{
		{"fabcell", "fabcell/cell1/jobs/submit", true},
		{"fabcell", "fabcell/cell1/jobs/j-1/start", true},
		{"fabcell", "fabcell/cell1/jobs/j-1/cancel", true},
		{"fabcell", "fabcell/cell1/jobs/j-1/status", false},
		{"fabcell", "fabcell/cell1/state", false},
		{"fabcell", "fabcell/cell1/events", false},
		{"fabcell", "other/cell1/jobs/submit", false},
		{"plant/a", "plant/a/cell9/jobs/x/pause", true},
		{"plant/a", "plant/a/cell9/sub/jobs/x/pause", false},
		{"", "any/where/cell/jobs/submit", true},
		{"", "jobs/submit", false},
	} {
		g := &retainGuard{prefix: tc.prefix}
		if _, _, got := g.command(tc.topic); got != tc.command {
			t.Errorf("prefix %q topic %q: command = %v, want %v", tc.prefix, tc.topic, got, tc.command)
		}
	}
	for topic, want := range map[string]bool{
		"spBv1.0/fabcell/NCMD/cell1":     true,
		"spBv1.0/fabcell/DCMD/cell1/arm": true,
		"spBv1.0/fabcell/NDATA/cell1":    false,
		"spBv1.0/STATE/host":             false,
	} {
		if got := isSparkplugCommand(topic); got != want {
			t.Errorf("%s: %v", topic, got)
		}
	}
}

// readMQTTPacket reads one MQTT control packet: first byte and body.
func readMQTTPacket(t *testing.T, r *bufio.Reader) (byte, []byte) {
	t.Helper()
	first, err := r.ReadByte()
	if err != nil {
		t.Fatal(err)
	}
	n, shift := 0, 0
	for {
		b, err := r.ReadByte()
		if err != nil {
			t.Fatal(err)
		}
		n |= int(b&0x7f) << shift
		if b&0x80 == 0 {
			break
		}
		shift += 7
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatal(err)
	}
	return first, body
}

// TestRetainedCommandMQTT5Puback: an MQTT 5 publisher of a retained QoS 1
// command is told at once: PUBACK reason 0x83 with a reason string; the
// command is neither stored nor delivered.
func TestRetainedCommandMQTT5Puback(t *testing.T) {
	b := startMochi(t, "")
	tp := NewTopics(config.Defaults().MQTT.TopicPrefix, "cell1")
	sub := newRecorder(t, b.url(), "sub-v5", tp.Base+"/#")
	conn, err := net.Dial("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	var buf bytes.Buffer
	connect := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 5,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, ClientIdentifier: "mes-v5", Keepalive: 30}}
	if err := connect.ConnectEncode(&buf); err != nil {
		t.Fatal(err)
	}
	conn.Write(buf.Bytes())
	if typ, body := readMQTTPacket(t, br); typ>>4 != packets.Connack || len(body) < 2 || body[1] != 0 {
		t.Fatalf("connack %x %x", typ, body)
	}
	buf.Reset()
	pub := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1, Retain: true}, ProtocolVersion: 5,
		TopicName: tp.Command("j1", VerbStart), PacketID: 7, Payload: []byte(`{"request_id":"v5"}`)}
	if err := pub.PublishEncode(&buf); err != nil {
		t.Fatal(err)
	}
	conn.Write(buf.Bytes())
	typ, body := readMQTTPacket(t, br)
	if typ>>4 != packets.Puback || len(body) < 3 || body[0] != 0 || body[1] != 7 {
		t.Fatalf("puback %x %x", typ, body)
	}
	if body[2] != packets.ErrImplementationSpecificError.Code || !bytes.Contains(body, []byte("retained command refused")) {
		t.Fatalf("puback reason 0x%02x, body %q", body[2], body)
	}
	ms := sub.waitFor(t, "error event", 5*time.Second, func(ms []msg) bool { return len(events(tp, ms)) > 0 })
	for _, m := range ms {
		if m.Topic == tp.Command("j1", VerbStart) {
			t.Fatalf("retained command delivered: %q", m.Payload)
		}
	}
	if e := events(tp, ms)[0]; e.Code != CodeRetained || e.RequestID != "v5" || e.JobID != "j1" {
		t.Fatalf("event %+v", e)
	}
}
