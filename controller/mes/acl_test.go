package mes

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Example credentials of testdata/embedded-auth.yaml (and, hashed at test
// time, of the mosquitto password file).
var aclUsers = map[string]string{
	"fabcell-cell1": "cell1-controller-secret",
	"mes-cell1":     "mes1-secret",
	"fabcell-cell2": "cell2-controller-secret",
	"mes-cell2":     "mes2-secret",
}

func startMosquittoACL(t *testing.T) broker {
	t.Helper()
	mosquittoPath(t)
	pwBin, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Skip("mosquitto_passwd not installed")
	}
	dir := t.TempDir()
	pw := filepath.Join(dir, "passwd")
	first := true
	for _, u := range []string{"fabcell-cell1", "mes-cell1", "fabcell-cell2", "mes-cell2"} {
		args := []string{"-b", pw, u, aclUsers[u]}
		if first {
			args = append([]string{"-c"}, args...)
			first = false
		}
		if out, err := exec.Command(pwBin, args...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v: %s", err, out)
		}
	}
	acl, err := filepath.Abs("testdata/mosquitto.acl")
	if err != nil {
		t.Fatal(err)
	}
	return startMosquitto(t, "user root\nallow_anonymous false\npassword_file "+pw+"\nacl_file "+acl+"\n")
}

// TestACL: with the shipped ACL (mosquitto) or auth ledger (embedded
// mochi), the MES of cell1 commands cell1 but cannot publish to cell2's
// topics, cannot read cell2's events, cannot forge cell1's status, and
// anonymous clients are refused. Both controllers authenticate with
// password_file.
func TestACL(t *testing.T) {
	for _, bk := range []struct {
		name  string
		start func(t *testing.T) broker
	}{
		{"mochi", func(t *testing.T) broker { return startMochi(t, "testdata/embedded-auth.yaml") }},
		{"mosquitto", startMosquittoACL},
	} {
		t.Run(bk.name, func(t *testing.T) {
			b := bk.start(t)
			models := modelDir(t)
			stacks := map[string]*stack{}
			for _, cellName := range []string{"cell1", "cell2"} {
				cell := testCell(t, cellName)
				cell.MQTT.Username = "fabcell-" + cellName
				cell.MQTT.PasswordFile = filepath.Join(t.TempDir(), "pw")
				os.WriteFile(cell.MQTT.PasswordFile, []byte(aclUsers[cell.MQTT.Username]+"\n"), 0o600)
				stacks[cellName] = newStack(t, b, cell, models)
			}
			s1, s2 := stacks["cell1"], stacks["cell2"]
			mesFilters := func(tp Topics) []string {
				return []string{tp.Base + "/jobs/+/status", tp.Events(), tp.State()}
			}
			mes1 := newRecorderAuth(t, b.url(), "mes-cell1", "mes-cell1", aclUsers["mes-cell1"], mesFilters(s1.tp)...)
			mes2 := newRecorderAuth(t, b.url(), "mes-cell2", "mes-cell2", aclUsers["mes-cell2"], mesFilters(s2.tp)...)
			s1.waitOnline(t, mes1)
			s2.waitOnline(t, mes2)

			// cell1's MES tries cell2: submit, cancel, forged status — and
			// forges its own cell's status (read-only for the MES). mosquitto
			// drops denied publications (PUBACK all the same); mochi
			// disconnects a 3.1.1 client whose QoS 1 publication is denied,
			// so these go over a connection of their own without reconnect.
			o := paho.NewClientOptions().AddBroker(b.url()).SetClientID("mes-cell1-probe").SetUsername("mes-cell1").SetPassword(aclUsers["mes-cell1"]).SetAutoReconnect(false)
			probe := paho.NewClient(o)
			if tok := probe.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				t.Fatalf("probe connect: %v", tok.Error())
			}
			for _, p := range [][2]string{
				{s2.tp.Submit(), submitJSON("intruder", femurRef, "")},
				{s2.tp.Command("intruder", VerbCancel), `{}`},
				{s2.tp.Status("x"), `{"state":"completed"}`},
				{s1.tp.Status("x"), `{"state":"completed"}`},
			} {
				if !probe.IsConnectionOpen() {
					probe.Connect().WaitTimeout(5 * time.Second)
				}
				probe.Publish(p[0], 1, false, p[1]).WaitTimeout(2 * time.Second)
			}
			probe.Disconnect(0)
			// positive control: the same user commands its own cell
			mes1.publish(t, s1.tp.Submit(), 1, false, submitJSON("legit", femurRef, ""))
			ms1 := mes1.waitFor(t, "ack in cell1", 10*time.Second, func(ms []msg) bool {
				return slices.ContainsFunc(events(s1.tp, ms), func(e Event) bool { return e.Type == "ack" && e.JobID == "legit" })
			})
			time.Sleep(200 * time.Millisecond) // cell2 had as long as cell1 to see anything
			if jobs := s2.mgr.Jobs(); len(jobs) != 0 {
				t.Fatalf("cell1's MES queued a job in cell2: %+v", jobs)
			}
			if n := s2.api.Stats().Received; n != 0 {
				t.Fatalf("cell2's controller received %d messages from cell1's MES", n)
			}
			if ev := events(s2.tp, mes2.all()); len(ev) != 0 {
				t.Fatalf("events in cell2: %+v", ev)
			}
			if n := s1.api.Stats().Rejected; n != 0 {
				t.Fatalf("cell1's controller refused %d messages: the forged status reached it", n)
			}
			if slices.ContainsFunc(events(s1.tp, ms1), func(e Event) bool { return e.Code == CodeForeignStatus }) {
				t.Fatal("the forged status reached the controller")
			}
			if _, err := s1.mgr.Job("legit"); err != nil {
				t.Fatal(err)
			}
			// reading another cell's events is refused: either the SUBACK
			// says 0x80 (mochi) or nothing is delivered (mosquitto 2.0 grants
			// the subscription and filters every message by the read ACL)
			tok := mes1.c.Subscribe(s2.tp.Events(), 1, nil)
			if !tok.WaitTimeout(5 * time.Second) {
				t.Fatal("subscribe timed out")
			}
			code := tok.(*paho.SubscribeToken).Result()[s2.tp.Events()]
			mes2.publish(t, s2.tp.Submit(), 1, false, submitJSON("cell2job", femurRef, ""))
			mes2.waitFor(t, "ack in cell2", 10*time.Second, func(ms []msg) bool {
				return slices.ContainsFunc(events(s2.tp, ms), func(e Event) bool { return e.Type == "ack" && e.JobID == "cell2job" })
			})
			time.Sleep(200 * time.Millisecond)
			if ev := events(s2.tp, mes1.all()); len(ev) != 0 {
				t.Fatalf("cell1's MES read cell2's events (SUBACK %#x): %+v", code, ev)
			}
			// anonymous and wrong-password clients cannot connect
			for _, cred := range [][2]string{{"", ""}, {"mes-cell1", "wrong"}} {
				o := paho.NewClientOptions().AddBroker(b.url()).SetClientID("anon").SetUsername(cred[0]).SetPassword(cred[1]).SetConnectTimeout(3 * time.Second)
				c := paho.NewClient(o)
				tok := c.Connect()
				tok.WaitTimeout(5 * time.Second)
				if tok.Error() == nil {
					c.Disconnect(0)
					t.Fatalf("client %q/%q connected", cred[0], cred[1])
				}
			}
		})
	}
}

// TestACLFileMentionsEveryTopic keeps the shipped ACL in step with the
// topic API: every topic the MES uses is granted to the MES user.
func TestACLFileMentionsEveryTopic(t *testing.T) {
	data, err := os.ReadFile("testdata/mosquitto.acl")
	if err != nil {
		t.Fatal(err)
	}
	acl := string(data)
	tp := NewTopics("fabcell", "cell1")
	for _, want := range []string{
		"topic write " + tp.Submit(),
		"topic write " + tp.Command("+", VerbStart),
		"topic write " + tp.Command("+", VerbPause),
		"topic write " + tp.Command("+", VerbResume),
		"topic write " + tp.Command("+", VerbCancel),
		"topic read " + tp.Status("+"),
		"topic read " + tp.Events(),
		"topic read " + tp.Telemetry(),
		"topic read " + tp.State(),
	} {
		if !strings.Contains(acl, want+"\n") {
			t.Errorf("ACL lacks %q", want)
		}
	}
}
