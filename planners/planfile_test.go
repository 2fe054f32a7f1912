package planners

import (
	"slices"
	"strings"
	"testing"
)

func TestParseOrderText(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
		err  string
	}{
		{in: "Path: [1, 2, 3]\n", want: []int{1, 2, 3}},
		{in: "# order\n4 5\n6\n", want: []int{4, 5, 6}},
		{in: "Reward: 3.5\nPath: [\n 1, 2,\n 3\n]\n", want: []int{1, 2, 3}},
		{in: "Path: (0, 1, 2.0)\n", want: []int{0, 1, 2}},
		// a file cut short: its last index may be cut in half too
		{in: "Path: [1, 2, 3", err: "p:1: the node list opened here is never closed"},
		{in: "Reward: 1\nPath: [1, 2,\n 34", err: "p:2: the node list opened here is never closed"},
		{in: "Path: 1, 2]\n", err: "p:1: ']' closes a list that was not opened"},
		{in: "Path: [1, x]\n", err: `p:1: "x" is not a node index`},
		{in: "Path: []\n", err: "no node indices"},
	} {
		got, _, err := ParseOrder("p", []byte(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseOrder(%q) = %v, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ParseOrder(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}
