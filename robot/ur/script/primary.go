package script

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Primary/secondary client protocol (ports 30001/30002, spec §2 "Primary/
// secondary messages"): every message is int32 size (whole message,
// big-endian) + uint8 type. The controller sends a VERSION robot message on
// connect, then ROBOT_STATE messages at 10 Hz, and robot messages (text,
// runtime exceptions) as they happen. This file decodes what a script
// sender needs and encodes the same messages for the simulator.

// Message types.
const (
	MsgRobotState   = 16
	MsgRobotMessage = 20
)

// ROBOT_STATE sub-package types.
const (
	SubRobotMode     = 0
	SubJointData     = 1
	SubCartesianInfo = 4
)

// ROBOT_MESSAGE sub-types.
const (
	RobotMsgText             = 0
	RobotMsgVersion          = 3
	RobotMsgKey              = 7
	RobotMsgRuntimeException = 10
)

// MessageSourceController is the source field the simulator writes
// (UR's MESSAGE_SOURCE_ROBOTINTERFACE, −2).
const MessageSourceController = -2

// MaxPrimaryMessage bounds a message this package accepts (real ROBOT_STATE
// messages are about 1.5 kB).
const MaxPrimaryMessage = 1 << 20

// ErrMalformedPrimary is wrapped by decoding errors.
var ErrMalformedPrimary = errors.New("primary protocol: malformed message")

// ReadPrimary reads one message; the payload excludes the 5-byte header.
func ReadPrimary(r io.Reader) (typ byte, payload []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	size := int64(int32(binary.BigEndian.Uint32(hdr[:4])))
	if size < 5 || size > MaxPrimaryMessage {
		return hdr[4], nil, fmt.Errorf("%w: size %d", ErrMalformedPrimary, size)
	}
	payload = make([]byte, size-5)
	if _, err := io.ReadFull(r, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return hdr[4], nil, err
	}
	return hdr[4], payload, nil
}

func appendMsg(dst []byte, typ byte, body []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(5+len(body)))
	dst = append(dst, typ)
	return append(dst, body...)
}

// RobotState is the part of ROBOT_STATE the script tools use.
type RobotState struct {
	TimestampUS       uint64
	RealRobotEnabled  bool
	PowerOn           bool
	EmergencyStopped  bool
	ProtectiveStopped bool
	ProgramRunning    bool
	ProgramPaused     bool
	RobotMode         uint8
	ControlMode       uint8
	TargetSpeedFrac   float64
	SpeedScaling      float64
	Q, QTarget, QD    [6]float64 // rad, rad/s
	JointMode         [6]uint8
	TCPPose           [6]float64 // m, rotation vector
	TCPOffset         [6]float64
	HasJoints, HasTCP bool
}

// AppendRobotState encodes a ROBOT_STATE message with the robot-mode (0),
// joint (1) and Cartesian (4) sub-packages in the e-Series 5.x layout.
func AppendRobotState(dst []byte, s RobotState) []byte {
	be := binary.BigEndian
	var body []byte
	// robot mode data: 47 bytes
	rm := make([]byte, 0, 47)
	rm = be.AppendUint32(rm, 47)
	rm = append(rm, SubRobotMode)
	rm = be.AppendUint64(rm, s.TimestampUS)
	for _, b := range []bool{true, s.RealRobotEnabled, s.PowerOn, s.EmergencyStopped, s.ProtectiveStopped, s.ProgramRunning, s.ProgramPaused} {
		rm = append(rm, b2u(b))
	}
	rm = append(rm, s.RobotMode, s.ControlMode)
	rm = be.AppendUint64(rm, math.Float64bits(s.TargetSpeedFrac))
	rm = be.AppendUint64(rm, math.Float64bits(s.SpeedScaling))
	rm = be.AppendUint64(rm, math.Float64bits(1)) // target speed fraction limit
	rm = append(rm, 0)                            // reserved
	body = append(body, rm...)
	// joint data: 5 + 6·41 bytes
	body = be.AppendUint32(body, 5+6*41)
	body = append(body, SubJointData)
	for j := 0; j < 6; j++ {
		body = be.AppendUint64(body, math.Float64bits(s.Q[j]))
		body = be.AppendUint64(body, math.Float64bits(s.QTarget[j]))
		body = be.AppendUint64(body, math.Float64bits(s.QD[j]))
		for _, f := range []float32{0, 48, 30, 0} { // current, voltage, motor temp, micro temp
			body = be.AppendUint32(body, math.Float32bits(f))
		}
		body = append(body, s.JointMode[j])
	}
	// Cartesian info: 5 + 12·8 bytes
	body = be.AppendUint32(body, 5+12*8)
	body = append(body, SubCartesianInfo)
	for _, x := range s.TCPPose {
		body = be.AppendUint64(body, math.Float64bits(x))
	}
	for _, x := range s.TCPOffset {
		body = be.AppendUint64(body, math.Float64bits(x))
	}
	return appendMsg(dst, MsgRobotState, body)
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// ParseRobotState decodes the sub-packages it knows; others are skipped.
func ParseRobotState(p []byte) (RobotState, error) {
	be := binary.BigEndian
	var s RobotState
	for len(p) > 0 {
		if len(p) < 5 {
			return s, fmt.Errorf("%w: %d trailing bytes in ROBOT_STATE", ErrMalformedPrimary, len(p))
		}
		n := int(int32(be.Uint32(p)))
		if n < 5 || n > len(p) {
			return s, fmt.Errorf("%w: sub-package size %d of %d", ErrMalformedPrimary, n, len(p))
		}
		sub, body := p[4], p[5:n]
		p = p[n:]
		switch sub {
		case SubRobotMode:
			if len(body) < 8+7+2+16 {
				return s, fmt.Errorf("%w: robot mode data of %d bytes", ErrMalformedPrimary, len(body))
			}
			s.TimestampUS = be.Uint64(body)
			f := body[8:]
			s.RealRobotEnabled, s.PowerOn, s.EmergencyStopped = f[1] != 0, f[2] != 0, f[3] != 0
			s.ProtectiveStopped, s.ProgramRunning, s.ProgramPaused = f[4] != 0, f[5] != 0, f[6] != 0
			s.RobotMode, s.ControlMode = f[7], f[8]
			s.TargetSpeedFrac = math.Float64frombits(be.Uint64(f[9:]))
			s.SpeedScaling = math.Float64frombits(be.Uint64(f[17:]))
		case SubJointData:
			if len(body) < 6*41 {
				return s, fmt.Errorf("%w: joint data of %d bytes", ErrMalformedPrimary, len(body))
			}
			for j := 0; j < 6; j++ {
				b := body[41*j:]
				s.Q[j] = math.Float64frombits(be.Uint64(b))
				s.QTarget[j] = math.Float64frombits(be.Uint64(b[8:]))
				s.QD[j] = math.Float64frombits(be.Uint64(b[16:]))
				s.JointMode[j] = b[40]
			}
			s.HasJoints = true
		case SubCartesianInfo:
			if len(body) < 12*8 {
				return s, fmt.Errorf("%w: Cartesian info of %d bytes", ErrMalformedPrimary, len(body))
			}
			for i := 0; i < 6; i++ {
				s.TCPPose[i] = math.Float64frombits(be.Uint64(body[8*i:]))
				s.TCPOffset[i] = math.Float64frombits(be.Uint64(body[48+8*i:]))
			}
			s.HasTCP = true
		}
	}
	return s, nil
}

// RobotMessage is a decoded ROBOT_MESSAGE.
type RobotMessage struct {
	TimestampUS uint64
	Source      int8
	Type        uint8 // RobotMsgText, RobotMsgVersion, RobotMsgRuntimeException, …
	Text        string
	// Runtime exceptions: script line and column (1-based; 0 = unknown).
	Line, Column int32
	// Version message.
	Project       string
	Major, Minor  uint8
	Bugfix, Build int32
	BuildDate     string
}

func (m RobotMessage) String() string {
	switch m.Type {
	case RobotMsgRuntimeException:
		return fmt.Sprintf("runtime exception at line %d col %d: %s", m.Line, m.Column, m.Text)
	case RobotMsgVersion:
		return fmt.Sprintf("%s %d.%d.%d.%d (%s)", m.Project, m.Major, m.Minor, m.Bugfix, m.Build, m.BuildDate)
	}
	return m.Text
}

func robotMsgHeader(ts uint64, typ uint8) []byte {
	b := binary.BigEndian.AppendUint64(nil, ts)
	src := int8(MessageSourceController)
	return append(b, byte(src), typ)
}

// AppendVersionMessage encodes the VERSION robot message sent on connect.
func AppendVersionMessage(dst []byte, ts uint64, project string, major, minor uint8, bugfix, build int32, date string) []byte {
	if len(project) > 127 {
		project = project[:127]
	}
	b := robotMsgHeader(ts, RobotMsgVersion)
	b = append(b, byte(len(project)))
	b = append(b, project...)
	b = append(b, major, minor)
	b = binary.BigEndian.AppendUint32(b, uint32(bugfix))
	b = binary.BigEndian.AppendUint32(b, uint32(build))
	b = append(b, date...)
	return appendMsg(dst, MsgRobotMessage, b)
}

// AppendTextMessage encodes a text robot message (textmsg output).
func AppendTextMessage(dst []byte, ts uint64, text string) []byte {
	b := append(robotMsgHeader(ts, RobotMsgText), text...)
	return appendMsg(dst, MsgRobotMessage, b)
}

// AppendRuntimeException encodes a runtime exception robot message.
func AppendRuntimeException(dst []byte, ts uint64, line, col int32, text string) []byte {
	b := robotMsgHeader(ts, RobotMsgRuntimeException)
	b = binary.BigEndian.AppendUint32(b, uint32(line))
	b = binary.BigEndian.AppendUint32(b, uint32(col))
	b = append(b, text...)
	return appendMsg(dst, MsgRobotMessage, b)
}

// ParseRobotMessage decodes a ROBOT_MESSAGE payload.
func ParseRobotMessage(p []byte) (RobotMessage, error) {
	be := binary.BigEndian
	if len(p) < 10 {
		return RobotMessage{}, fmt.Errorf("%w: robot message of %d bytes", ErrMalformedPrimary, len(p))
	}
	m := RobotMessage{TimestampUS: be.Uint64(p), Source: int8(p[8]), Type: p[9]}
	b := p[10:]
	switch m.Type {
	case RobotMsgVersion:
		if len(b) < 1 || len(b) < 1+int(b[0])+10 {
			return m, fmt.Errorf("%w: short version message", ErrMalformedPrimary)
		}
		n := int(b[0])
		m.Project = string(b[1 : 1+n])
		b = b[1+n:]
		m.Major, m.Minor = b[0], b[1]
		m.Bugfix, m.Build = int32(be.Uint32(b[2:])), int32(be.Uint32(b[6:]))
		m.BuildDate = string(b[10:])
	case RobotMsgRuntimeException:
		if len(b) < 8 {
			return m, fmt.Errorf("%w: short runtime exception", ErrMalformedPrimary)
		}
		m.Line, m.Column = int32(be.Uint32(b)), int32(be.Uint32(b[4:]))
		m.Text = string(b[8:])
	default:
		m.Text = string(b)
	}
	return m, nil
}
