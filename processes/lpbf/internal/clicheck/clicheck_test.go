package clicheck

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

// A 3×2 plate with a hole at cell (1,0), pitch 0.05 mm:
//
//	###
//	#.#
var plate = MaskFromRows(0.05, []string{"###", "#.#"})

func ascii(body string) []byte {
	return []byte("$$HEADERSTART\n$$ASCII\n$$UNITS/0.001\n$$VERSION/200\n$$LABEL/1,fabcell lpbf power_w=200 scan_speed_mm_s=800\n$$DIMENSION/0,0,0,1,1,0\n$$LAYERS/1\n$$HEADEREND\n$$GEOMETRYSTART\n$$LAYER/0\n$$POWER/200\n$$SPEED/800\n" + body + "$$GEOMETRYEND\n")
}

func binaryFile(order binary.AppendByteOrder, hatches [][4]float32) []byte {
	b := []byte("$$HEADERSTART\n$$BINARY\n$$UNITS/0.001\n$$VERSION/200\n$$LABEL/1,fabcell lpbf power_w=200 scan_speed_mm_s=800\n$$DIMENSION/0,0,0,1,1,0\n$$LAYERS/1\n$$HEADEREND")
	b = order.AppendUint16(b, 127)
	b = order.AppendUint32(b, math.Float32bits(0))
	b = order.AppendUint16(b, 132)
	b = order.AppendUint32(b, 1)
	b = order.AppendUint32(b, uint32(len(hatches)))
	for _, h := range hatches {
		for _, v := range h {
			b = order.AppendUint32(b, math.Float32bits(v))
		}
	}
	return b
}

// The checker is only worth something if it fails: each broken file below
// must be refused, and the correct one accepted.
func TestVerifyCatchesDefects(t *testing.T) {
	good := "$$HATCHES/1,3,25,75,125,75,25,25,25,25,125,25,125,25\n" // top row, left and right pixels
	exp := Expect{PowerW: 200, SpeedMMS: 800}
	for _, tc := range []struct {
		name string
		data []byte
		want string // "" = accepted
	}{
		{"good ascii", ascii(good), ""},
		{"good binary", binaryFile(binary.LittleEndian, [][4]float32{{25, 75, 125, 75}, {25, 25, 25, 25}, {125, 25, 125, 25}}), ""},
		{"over the hole", ascii("$$HATCHES/1,2,25,75,125,75,25,25,125,25\n"), "outside the part"},
		{"double exposure", ascii("$$HATCHES/1,4,25,75,125,75,25,25,25,75,25,25,25,25,125,25,125,25\n"), "melted 2 times"},
		{"gap", ascii("$$HATCHES/1,2,25,75,125,75,25,25,25,25\n"), "never melted"},
		{"units applied twice", ascii("$$HATCHES/1,3,0.025,0.075,0.125,0.075,0.025,0.025,0.025,0.025,0.125,0.025,0.125,0.025\n"), "never melted"},
		{"edge to edge", ascii("$$HATCHES/1,3,0,75,150,75,25,25,25,25,125,25,125,25\n"), "not a cell centre"},
		{"diagonal", ascii("$$HATCHES/1,3,25,75,125,75,25,25,125,25,125,25,125,25\n"), "outside the part"},
		{"polyline", ascii(good + "$$POLYLINE/1,1,2,25,25,125,25\n"), "polyline"},
		{"wrong power", []byte(strings.Replace(string(ascii(good)), "$$POWER/200", "$$POWER/2000", 1)), "2000 W"},
		{"big-endian binary", binaryFile(binary.BigEndian, [][4]float32{{25, 75, 125, 75}}), "unknown command"},
		{"no $$LAYERS", []byte(strings.Replace(string(ascii(good)), "$$LAYERS/1\n", "", 1)), "$$LAYERS"},
		{"layer count", []byte(strings.Replace(string(ascii(good)), "$$LAYERS/1", "$$LAYERS/2", 1)), "$$LAYERS/2"},
		{"dimension", []byte(strings.Replace(string(ascii(good)), "$$DIMENSION/0,0,0,1,1,0", "$$DIMENSION/0,0,0,0.1,0.1,0", 1)), "$$DIMENSION"},
		{"truncated binary", func() []byte {
			b := binaryFile(binary.LittleEndian, [][4]float32{{25, 75, 125, 75}})
			return b[:len(b)-5]
		}(), "too short"},
	} {
		_, rep, err := Verify(tc.data, plate, exp)
		if err == nil {
			err = rep.Err()
		}
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestPointInPolygons(t *testing.T) {
	sq := func(a, b float64) [][2]float64 { return [][2]float64{{a, a}, {b, a}, {b, b}, {a, b}} }
	polys := [][][2]float64{sq(0, 10), sq(4, 6)} // a square with a square hole
	for _, tc := range []struct {
		x, y float64
		in   bool
	}{{1, 1, true}, {5, 5, false}, {11, 5, false}, {3.9, 5, true}} {
		if got := PointInPolygons(tc.x, tc.y, polys); got != tc.in {
			t.Errorf("(%v,%v): %v", tc.x, tc.y, got)
		}
	}
}
