package extruder

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestChecksumAndFormat(t *testing.T) {
	tests := []struct {
		n    int
		cmd  string
		want string
	}{
		// by hand: 'N'^'1'^' '^'G'^'1' = 0x4E^0x31^0x20^0x47^0x31 = 0x29
		{1, "G1", "N1 G1*41\n"},
		// 'N'^'0'^' '^'M'^'1'^'1'^'0'^' '^'N'^'0' = 0x7D
		{0, "M110 N0", "N0 M110 N0*125\n"},
	}
	for _, tc := range tests {
		if got := FormatLine(tc.n, tc.cmd); got != tc.want {
			t.Errorf("FormatLine(%d, %q) = %q, want %q", tc.n, tc.cmd, got, tc.want)
		}
	}
}

func TestCleanCommand(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{"G1 X10 ; move", "G1 X10", false},
		{"  M104 S210\t", "M104 S210", false},
		{"; only a comment", "", false},
		{"", "", false},
		{"G1 X1*12", "", true},
		{"N5 G1 X1", "", true},
		{"G1 X1\x00", "", true},
		{"G1 X1\nG1 X2", "", true},
		{"M117 " + strings.Repeat("x", 90), "", true},
		{"M117 héllo", "", true},
		{"NOP", "NOP", false}, // not a line number
	}
	for _, tc := range tests {
		got, err := CleanCommand(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("CleanCommand(%q) = %q, %v", tc.in, got, err)
		}
		if err != nil && !errors.Is(err, ErrBadCommand) {
			t.Errorf("error %v does not wrap ErrBadCommand", err)
		}
	}
	if c := commandCode("g01 x1"); c != "G1" {
		t.Errorf("commandCode = %q", c)
	}
	if c := commandCode("M0109 S1"); c != "M109" {
		t.Errorf("commandCode = %q", c)
	}
}

func TestParseResponse(t *testing.T) {
	tests := []struct {
		line  string
		kind  respKind
		n     int
		fault FaultKind
		heat  string
	}{
		{"ok", respOK, -1, 0, ""},
		{"ok T:210.00 /210.00 B:60.00 /60.00 @:127 B@:0", respOK, -1, 0, ""},
		{"ok N12 P15 B3", respOK, 12, 0, ""},
		{"Resend: 12", respResend, 12, 0, ""},
		{"rs 7", respResend, 7, 0, ""},
		{"rs N7", respResend, 7, 0, ""},
		{"echo:busy: processing", respBusy, -1, 0, ""},
		{"busy: paused for user", respBusy, -1, 0, ""},
		{"Error:checksum mismatch, Last Line: 11", respLineError, 11, 0, ""},
		{"Error:Line Number is not Last Line Number+1, Last Line: 4", respLineError, 4, 0, ""},
		{"Error:No Checksum with line number, Last Line: 4", respLineError, 4, 0, ""},
		{"Error:Thermal Runaway, system stopped! Heater_ID: 0", respFault, -1, FaultThermalRunaway, "0"},
		{"Error:Thermal Runaway, system stopped! Heater_ID: bed", respFault, -1, FaultThermalRunaway, "bed"},
		{"Error:MINTEMP triggered, system stopped! Heater_ID: 1", respFault, -1, FaultMinTemp, "1"},
		{"Error:MINTEMP triggered", respFault, -1, FaultMinTemp, ""},
		{"Error:MAXTEMP triggered, system stopped! Heater_ID: 0", respFault, -1, FaultMaxTemp, "0"},
		{"Error:Heating failed, system stopped! Heater_ID: 1", respFault, -1, FaultHeatingFailed, "1"},
		{"Error:Printer halted. kill() called!", respFault, -1, FaultHalted, ""},
		{"Error:Printer stopped due to errors. Fix the error and use M999 to restart.", respFault, -1, FaultStopped, ""},
		{"!! Shutdown due to webhooks request", respFault, -1, FaultBoard, ""},
		{"Error:Something else", respError, -1, 0, ""},
		{`echo:Unknown command: "G999"`, respUnknownCmd, -1, 0, ""},
		{"echo: cold extrusion prevented", respRefused, -1, 0, ""},
		{"echo:T5 Invalid extruder", respRefused, -1, 0, ""},
		{"start", respStart, -1, 0, ""},
		{"echo:Marlin 2.1.2", respOther, -1, 0, ""},
		{"Resend: x", respOther, -1, 0, ""},
	}
	for _, tc := range tests {
		r := parseResponse(tc.line)
		if r.kind != tc.kind || r.n != tc.n {
			t.Errorf("%q: kind %d n %d, want %d %d", tc.line, r.kind, r.n, tc.kind, tc.n)
			continue
		}
		if tc.kind == respFault && (r.fault.Kind != tc.fault || r.fault.Heater != tc.heat) {
			t.Errorf("%q: fault %v heater %q", tc.line, r.fault.Kind, r.fault.Heater)
		}
	}
	if r := parseResponse("ok N12 P15 B3"); r.free != 3 {
		t.Errorf("ADVANCED_OK free slots %d", r.free)
	}
	if r := parseResponse(`echo:Unknown command: "G999 X1"`); r.text != "G999 X1" {
		t.Errorf("unknown text %q", r.text)
	}
}

func TestParseTemps(t *testing.T) {
	nan := math.NaN()
	type h = Heater
	tests := []struct {
		line   string
		tools  []Heater
		bed    Heater
		hasBed bool
		waitS  float64
	}{
		{"ok T:210.00 /210.00 B:60.00 /60.00 T0:210.00 /210.00 T1:180.50 /185.00 @:127 B@:0 @0:127 @1:64",
			[]Heater{{210, 210, 127}, {180.5, 185, 64}}, h{60, 60, 0}, true, nan},
		{" T:21.52 /0.00 B:21.04 /0.00 @:0 B@:0", []Heater{{21.52, 0, 0}}, h{21.04, 0, 0}, true, nan},
		{"T:205.3 /210.0 B:60.0 /60.0 @:127 B@:0 W:?", []Heater{{205.3, 210, 127}}, h{60, 60, 0}, true, nan},
		{"T:209.8 /210.0 W:7", []Heater{{209.8, 210, -1}}, h{0, 0, -1}, false, 7},
		{"ok T:210/215 B:60/65", []Heater{{210, 215, -1}}, h{60, 65, -1}, true, nan},
		{"ok B:24.9 /0.0 T0:25.1 /0.0", []Heater{{25.1, 0, -1}}, h{24.9, 0, -1}, true, nan}, // Klipper order
	}
	for _, tc := range tests {
		got, ok := ParseTemps(tc.line, time.Time{})
		if !ok {
			t.Errorf("%q not parsed", tc.line)
			continue
		}
		if len(got.Tools) != len(tc.tools) {
			t.Errorf("%q: %d tools", tc.line, len(got.Tools))
			continue
		}
		for i := range tc.tools {
			if got.Tools[i] != tc.tools[i] {
				t.Errorf("%q: tool %d = %+v, want %+v", tc.line, i, got.Tools[i], tc.tools[i])
			}
		}
		if got.HasBed != tc.hasBed || (tc.hasBed && got.Bed != tc.bed) {
			t.Errorf("%q: bed %+v %v", tc.line, got.Bed, got.HasBed)
		}
		if !(math.IsNaN(tc.waitS) && math.IsNaN(got.WaitS) || got.WaitS == tc.waitS) {
			t.Errorf("%q: W %v", tc.line, got.WaitS)
		}
	}
	for _, l := range []string{"X:0.00 Y:0.00 Z:0.00 E:0.00 Count X:0 Y:0 Z:0", "ok", "T:abc /1", "echo:busy: processing"} {
		if _, ok := ParseTemps(l, time.Time{}); ok {
			t.Errorf("%q parsed as temperatures", l)
		}
	}
}

func TestContainsToken(t *testing.T) {
	if containsToken("echo:fabcell-sync-12", "fabcell-sync-1") {
		t.Error("prefix matched")
	}
	if !containsToken("echo:fabcell-sync-12", "fabcell-sync-12") || !containsToken(`echo:Unknown command: "M118 E1 fabcell-sync-3"`, "fabcell-sync-3") {
		t.Error("token not found")
	}
}
