package rtde

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

// Golden packages. The expected bytes were produced independently with
// Python's struct module (the packing the official client uses):
// struct.pack('>HB', size, cmd) + payload.
func TestGoldenPackages(t *testing.T) {
	mustHex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	outSetup, _ := EncodeSetupOutputs(2, 500, []string{"timestamp", "actual_q"})
	inSetup, _ := EncodeSetupInputs([]string{"input_int_register_0", "input_double_register_1"})
	all, err := NewRecipe(1, []string{"b", "u8", "u32", "u64", "i32", "d", "v3", "v6", "v6i", "v6u"},
		[]DataType{Bool, Uint8, Uint32, Uint64, Int32, Double, Vector3D, Vector6D, Vector6Int32, Vector6Uint32})
	if err != nil {
		t.Fatal(err)
	}
	vals := []Value{BoolValue(true), Uint8Value(200), Uint32Value(4000000000), Uint64Value(1<<63 + 5), Int32Value(-2),
		DoubleValue(-1.25), Vector3DValue([3]float64{1, 2, 3}), Vector6DValue([6]float64{.1, .2, .3, -.4, -.5, -.6}),
		Vector6Int32Value([6]int32{-1, 2, -3, 4, -5, 6}), Vector6Uint32Value([6]uint32{1, 2, 3, 4, 5, 4294967295})}
	data, err := all.Pack(nil, vals)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cmd     Command
		payload []byte
		want    string
	}{
		{"V request", CmdRequestProtocolVersion, EncodeVersionRequest(2), "0005560002"},
		{"V reply", CmdRequestProtocolVersion, EncodeAccepted(true), "00045601"},
		{"v request", CmdGetURControlVersion, nil, "000376"},
		{"v reply", CmdGetURControlVersion, ControllerVersion{5, 21, 0, 0}.Encode(), "00137600000005000000150000000000000000"},
		{"O request", CmdSetupOutputs, outSetup, "001d4f407f40000000000074696d657374616d702c61637475616c5f71"},
		{"O reply", CmdSetupOutputs, SetupReply{1, []string{"DOUBLE", "VECTOR6D"}}.Encode(), "00134f01444f55424c452c564543544f523644"},
		{"I request", CmdSetupInputs, inSetup, "002f49696e7075745f696e745f72656769737465725f302c696e7075745f646f75626c655f72656769737465725f31"},
		{"I reply", CmdSetupInputs, SetupReply{2, []string{"INT32", "DOUBLE"}}.Encode(), "00104902494e5433322c444f55424c45"},
		{"S request", CmdStart, nil, "000353"},
		{"S reply", CmdStart, EncodeAccepted(true), "00045301"},
		{"M v2", CmdTextMessage, TextMessage{"hi", "py", LevelInfo}.Encode(), "000a4d02686902707903"},
		{"U every type", CmdDataPackage, data, "0096550101c8ee6b28008000000000000005fffffffebff40000000000003ff0000000000000400000000000000040080000000000003fb999999999999a3fc999999999999a3fd3333333333333bfd999999999999abfe0000000000000bfe3333333333333ffffffff00000002fffffffd00000004fffffffb000000060000000100000002000000030000000400000005ffffffff"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendPackage(nil, tc.cmd, tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			want := mustHex(tc.want)
			if !bytes.Equal(got, want) {
				t.Fatalf("got  %x\nwant %x", got, want)
			}
			// and back
			cmd, p, err := ReadPackage(bytes.NewReader(want), nil)
			if err != nil || cmd != tc.cmd || !bytes.Equal(p, tc.payload) {
				t.Fatalf("ReadPackage = %v %x %v", cmd, p, err)
			}
		})
	}
	back, err := all.Unpack(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range vals {
		if back[i] != vals[i] {
			t.Errorf("field %d: %v != %v", i, back[i], vals[i])
		}
	}
}

func TestDataTypeTable(t *testing.T) {
	want := map[string]int{"BOOL": 1, "UINT8": 1, "UINT32": 4, "UINT64": 8, "INT32": 4, "DOUBLE": 8,
		"VECTOR3D": 24, "VECTOR6D": 48, "VECTOR6INT32": 24, "VECTOR6UINT32": 24}
	for name, size := range want {
		dt, ok := ParseDataType(name)
		if !ok || dt.String() != name || dt.Size() != size {
			t.Errorf("%s: parsed %v ok=%v size %d, want size %d", name, dt, ok, dt.Size(), size)
		}
	}
	for _, bad := range []string{"", "NOT_FOUND", "IN_USE", "double", "VECTOR6"} {
		if _, ok := ParseDataType(bad); ok {
			t.Errorf("%q parsed as a type", bad)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"size below header", []byte{0, 2, 'U'}, ErrMalformed},
		{"size zero", []byte{0, 0, 'V'}, ErrMalformed},
		{"unknown type", []byte{0, 3, 'X'}, ErrMalformed},
		{"truncated payload", []byte{0, 10, 'U', 1, 2}, io.ErrUnexpectedEOF},
		{"truncated header", []byte{0}, io.ErrUnexpectedEOF},
		{"empty", nil, io.EOF},
	}
	for _, tc := range tests {
		_, _, err := ReadPackage(bytes.NewReader(tc.in), nil)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := DecodeVersionRequest([]byte{1}); !errors.Is(err, ErrMalformed) {
		t.Errorf("short V: %v", err)
	}
	if _, err := DecodeControllerVersion(make([]byte, 15)); !errors.Is(err, ErrMalformed) {
		t.Errorf("short v: %v", err)
	}
	if _, err := DecodeTextMessage([]byte{5, 'a'}); !errors.Is(err, ErrMalformed) {
		t.Errorf("short M: %v", err)
	}
	if _, _, err := DecodeSetupOutputs(2, []byte{1, 2, 3}); !errors.Is(err, ErrMalformed) {
		t.Errorf("O without frequency: %v", err)
	}
	long := []byte(strings.Repeat("a", MaxRecipeBytes+1))
	if _, err := DecodeSetupInputs(long); !errors.Is(err, ErrMalformed) {
		t.Errorf("recipe > 2048 bytes: %v", err)
	}
	if _, err := DecodeSetupInputs([]byte("a,,b")); !errors.Is(err, ErrMalformed) {
		t.Errorf("empty name: %v", err)
	}
	r, _ := NewRecipe(3, []string{"x"}, []DataType{Double})
	if _, err := r.Unpack([]byte{3, 1, 2}, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("short data: %v", err)
	}
	if _, err := r.Unpack([]byte{4, 0, 0, 0, 0, 0, 0, 0, 0}, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("wrong recipe id: %v", err)
	}
	if _, err := r.Pack(nil, []Value{Int32Value(1)}); err == nil {
		t.Error("packing an INT32 into a DOUBLE field succeeded")
	}
	if _, err := EncodeSetupInputs([]string{strings.Repeat("x", 2049)}); err == nil {
		t.Error("encoding a recipe > 2048 bytes succeeded")
	}
	if _, err := EncodeSetupInputs([]string{"a,b"}); err == nil {
		t.Error("encoding a name with a comma succeeded")
	}
}

func TestParseRecipeErrors(t *testing.T) {
	_, err := ParseRecipe([]string{"actual_q", "bogus", "input_int_register_0"}, SetupReply{1, []string{"VECTOR6D", "NOT_FOUND", "IN_USE"}})
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrInUse) {
		t.Fatalf("err = %v, want NOT_FOUND and IN_USE", err)
	}
	for _, name := range []string{`"bogus"`, `"input_int_register_0"`} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if _, err := ParseRecipe([]string{"a"}, SetupReply{1, []string{"DOUBLE", "DOUBLE"}}); !errors.Is(err, ErrMalformed) {
		t.Errorf("count mismatch: %v", err)
	}
}

func TestConvert(t *testing.T) {
	tests := []struct {
		t    DataType
		x    any
		want Value
		ok   bool
	}{
		{Int32, 5, Int32Value(5), true},
		{Int32, int64(math.MaxInt32 + 1), Value{}, false},
		{Double, 3, DoubleValue(3), true},
		{Double, 2.5, DoubleValue(2.5), true},
		{Double, "x", Value{}, false},
		{Uint8, 255, Uint8Value(255), true},
		{Uint8, 256, Value{}, false},
		{Uint8, -1, Value{}, false},
		{Bool, true, BoolValue(true), true},
		{Bool, 1, Value{}, false},
		{Uint64, uint64(math.MaxUint64), Uint64Value(math.MaxUint64), true},
		{Vector6D, [6]float64{1, 2, 3, 4, 5, 6}, Vector6DValue([6]float64{1, 2, 3, 4, 5, 6}), true},
		{Vector6D, [3]float64{}, Value{}, false},
	}
	for _, tc := range tests {
		got, err := Convert(tc.t, tc.x)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("Convert(%v, %#v) = %v, %v", tc.t, tc.x, got, err)
		}
	}
}

func TestTextMessageCut(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	m, err := DecodeTextMessage(TextMessage{Message: long, Source: "s", Level: LevelError}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Message) > 255 || !strings.HasPrefix(long, m.Message) || len(m.Message)%2 != 0 {
		t.Errorf("cut message has %d bytes", len(m.Message))
	}
}

// FuzzCodec feeds arbitrary bytes to every decoder; none may panic, and a
// package that decodes must re-encode to the same bytes.
func FuzzCodec(f *testing.F) {
	f.Add([]byte{0, 5, 'V', 0, 2})
	f.Add([]byte{0, 4, 'M', 0})
	f.Add([]byte{0, 0x0a, 'M', 2, 'h', 'i', 2, 'p', 'y', 3})
	f.Add([]byte{0, 0x13, 'O', 1, 'D', 'O', 'U', 'B', 'L', 'E', ',', 'V', 'E', 'C', 'T', 'O', 'R', '6', 'D'})
	f.Add([]byte{0, 12, 'U', 1, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 'I', 'a'})
	recipe, _ := NewRecipe(1, []string{"a", "b", "c"}, []DataType{Double, Int32, Vector6D})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		for {
			cmd, p, err := ReadPackage(r, nil)
			if err != nil {
				return
			}
			_, _ = DecodeVersionRequest(p)
			_, _ = DecodeAccepted(p)
			_, _ = DecodeControllerVersion(p)
			if m, err := DecodeTextMessage(p); err == nil {
				if !bytes.Equal(m.Encode(), p) {
					t.Fatalf("text message %x re-encodes to %x", p, m.Encode())
				}
			}
			_, _, _ = DecodeSetupOutputs(2, p)
			_, _, _ = DecodeSetupOutputs(1, p)
			_, _ = DecodeSetupInputs(p)
			if rep, err := DecodeSetupReply(p); err == nil {
				_, _ = ParseRecipe([]string{"x"}, rep)
			}
			if vals, err := recipe.Unpack(p, nil); err == nil {
				out, err := recipe.Pack(nil, vals)
				if err != nil || !bytes.Equal(out, p) {
					t.Fatalf("data %x re-packs to %x (%v)", p, out, err)
				}
			}
			pkt, err := AppendPackage(nil, cmd, p)
			if err != nil || int(pkt[0])<<8|int(pkt[1]) != len(p)+HeaderSize {
				t.Fatalf("re-framing failed: %v", err)
			}
		}
	})
}
