package gcode

import (
	"bytes"
	"os"
	"regexp"
	"testing"
)

// TestFeatureCommentsLikeType: Bambu Studio and OrcaSlicer label features
// "; FEATURE: Outer wall" where PrusaSlicer writes ";TYPE:External
// perimeter". A file relabelled that way must optimise to the original's
// output, relabelled: the labels decide which extrusions are perimeters
// (the crossing rule) and, with scope feature, where features begin.
// Without the FEATURE family as the type, every extrusion of the
// relabelled file counts as a perimeter and its travels retract more.
func TestFeatureCommentsLikeType(t *testing.T) {
	in, err := os.ReadFile("testdata/screw_prusaslicer-2.7.4_arcs.gcode")
	if err != nil {
		t.Fatal(err)
	}
	typ := regexp.MustCompile(`(?m)^;TYPE:(.*)$`)
	relabel := func(b []byte) []byte { return typ.ReplaceAll(b, []byte("; FEATURE: $1")) }
	feat := relabel(in)
	if bytes.Equal(feat, in) || bytes.Contains(feat, []byte(";TYPE:")) {
		t.Fatal("relabelling changed nothing")
	}
	for _, scope := range []Scope{ScopeLayer, ScopeFeature} {
		opt := DefaultOptions()
		opt.Scope = scope
		want, wrep := optimize(t, in, opt)
		got, grep := optimize(t, feat, opt)
		if !bytes.Equal(relabel(want), got) {
			t.Fatalf("scope %v: the FEATURE-labelled file optimises differently (%d vs %d bytes; retractions %d vs %d, chunk time %.1f vs %.1f s)",
				scope, len(got), len(want), grep.RetractsOut, wrep.RetractsOut, grep.ChunkTimeOutS, wrep.ChunkTimeOutS)
		}
		verifyOK(t, feat, got)
	}
}
