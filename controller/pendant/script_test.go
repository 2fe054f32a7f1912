package pendant

import (
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"fabcell/config"
)

// TestPendantScriptMatchesServer keeps robot/ur/pendant/fabcell.script in
// step with the server: every method it calls exists (an unknown method
// stops the pendant program), it uses rpc_factory with /RPC2 on the
// default port, and every function it defines ends.
func TestPendantScriptMatchesServer(t *testing.T) {
	data, err := os.ReadFile("../../robot/ur/pendant/fabcell.script")
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	calls := regexp.MustCompile(`\bfabcell\.([a-z_A-Z.]+)\(`).FindAllStringSubmatch(src, -1)
	if len(calls) < 8 {
		t.Fatalf("only %d calls found", len(calls))
	}
	for _, c := range calls {
		if !slices.Contains(rpcMethods, c[1]) {
			t.Errorf("script calls %q, which the server does not serve", c[1])
		}
	}
	_, port, _ := net.SplitHostPort(config.Defaults().Pendant.XMLRPCAddr)
	if !strings.Contains(src, `rpc_factory("xmlrpc", FABCELL_URL)`) || !regexp.MustCompile(`FABCELL_URL = "http://[0-9.]+:`+port+`/RPC2"`).MatchString(src) {
		t.Error("script does not build its client with rpc_factory on the default port's /RPC2")
	}
	// block structure: each "def" / "if" / "while" is closed by an "end"
	open := 0
	for _, line := range strings.Split(src, "\n") {
		l := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(l, "#") || l == "":
		case strings.HasPrefix(l, "def ") || strings.HasPrefix(l, "if ") || strings.HasPrefix(l, "while "):
			open++
		case l == "end":
			open--
		}
		if open < 0 {
			t.Fatal("unbalanced end")
		}
	}
	if open != 0 {
		t.Fatalf("%d blocks not closed", open)
	}
}
