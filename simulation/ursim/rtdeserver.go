package ursim

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang/geo/r3"

	"fabcell/robot/ur/rtde"
)

// snapshot is the controller state one RTDE package is packed from.
type snapshot struct {
	t                     float64
	q, qd, qdd            [6]float64
	tcp, tcpSpeed         [6]float64
	tcpOffset             [6]float64
	robotMode, safetyMode int32
	runtime               uint32
	jointMode             int32
	speedScaling          float64
	speedFraction         float64
	diBits, doBits        uint64
	robotBits, safetyBits uint32
	analogOut             [2]float64
	analogTypes           uint32
	toolVoltage           int32
	inBits, outBits       [2]uint64
	inInt, outInt         [rtde.NumRegisters]int32
	inDouble, outDouble   [rtde.NumRegisters]float64
	scriptLine            uint32
	payload               float64
	cog                   [3]float64
	execTimeMS            float64
	elbow, elbowV         [3]float64
	accel                 [3]float64
}

func vec3(v r3.Vector) [3]float64 { return [3]float64{v.X, v.Y, v.Z} }

func (c *controller) snapshot() *snapshot {
	x := c.model.FK(c.q)
	s := &snapshot{t: c.t, q: c.q, qd: c.qd, qdd: c.qdd, tcp: [6]float64(toPoseVal(x)), tcpSpeed: c.tcpVel,
		tcpOffset: [6]float64(toPoseVal(c.tcp)), robotMode: int32(c.robotMode), safetyMode: int32(c.safetyMode),
		runtime: uint32(c.runtime), jointMode: c.jointMode(), speedFraction: c.speedFraction,
		robotBits: c.robotStatusBits(), safetyBits: c.safetyStatusBits(), analogOut: c.analogOut,
		toolVoltage: c.toolVoltage, inBits: c.inBits, outBits: c.outBits, inInt: c.inInt, outInt: c.outInt,
		inDouble: c.inDouble, outDouble: c.outDouble, scriptLine: c.scriptLine, payload: c.payloadKG,
		cog: c.payloadCOG, execTimeMS: float64(c.execDur) / float64(time.Millisecond),
		elbow: vec3(c.elbow), elbowV: vec3(c.elbowV)}
	s.speedScaling = c.speedScaling
	if c.runtime == rtde.RuntimePaused || !c.canMove() {
		s.speedScaling = 0
	}
	s.diBits = uint64(c.stdDI) | uint64(c.confDI)<<8 | uint64(c.toolDI)<<16
	s.doBits = uint64(c.stdDO) | uint64(c.confDO)<<8 | uint64(c.toolDO)<<16
	// analog_io_types: bits 2, 3 = output 0, 1 domain (1 = voltage)
	s.analogTypes = uint32(c.analogDomain[0])<<2 | uint32(c.analogDomain[1])<<3
	// tool accelerometer at rest reads gravity reaction in the tool frame
	s.accel = vec3(x.R.T().MulVec(r3.Vector{Z: 9.81}))
	return s
}

type getter func(*snapshot) rtde.Value

// outputGetters maps every output field to its value in the simulator.
// Quantities the simulator does not model have documented nominal values:
// currents, moments, forces and momentum 0; voltages 48 V; temperatures
// 25 °C; analog and Euromap inputs 0.
var outputGetters = map[string]getter{}

func init() {
	d := rtde.DoubleValue
	v6 := rtde.Vector6DValue
	z6 := func(*snapshot) rtde.Value { return v6([6]float64{}) }
	g := map[string]getter{
		"timestamp":                      func(s *snapshot) rtde.Value { return d(s.t) },
		"target_q":                       func(s *snapshot) rtde.Value { return v6(s.q) },
		"target_qd":                      func(s *snapshot) rtde.Value { return v6(s.qd) },
		"target_qdd":                     func(s *snapshot) rtde.Value { return v6(s.qdd) },
		"actual_q":                       func(s *snapshot) rtde.Value { return v6(s.q) },
		"actual_qd":                      func(s *snapshot) rtde.Value { return v6(s.qd) },
		"target_current":                 z6,
		"target_moment":                  z6,
		"actual_current":                 z6,
		"joint_control_output":           z6,
		"actual_TCP_force":               z6,
		"ft_raw_wrench":                  z6,
		"joint_position_deviation_ratio": z6,
		"actual_TCP_pose":                func(s *snapshot) rtde.Value { return v6(s.tcp) },
		"target_TCP_pose":                func(s *snapshot) rtde.Value { return v6(s.tcp) },
		"actual_TCP_speed":               func(s *snapshot) rtde.Value { return v6(s.tcpSpeed) },
		"target_TCP_speed":               func(s *snapshot) rtde.Value { return v6(s.tcpSpeed) },
		"actual_digital_input_bits":      func(s *snapshot) rtde.Value { return rtde.Uint64Value(s.diBits) },
		"actual_digital_output_bits":     func(s *snapshot) rtde.Value { return rtde.Uint64Value(s.doBits) },
		"joint_temperatures":             func(*snapshot) rtde.Value { return v6([6]float64{25, 25, 25, 25, 25, 25}) },
		"actual_execution_time":          func(s *snapshot) rtde.Value { return d(s.execTimeMS) },
		"robot_mode":                     func(s *snapshot) rtde.Value { return rtde.Int32Value(s.robotMode) },
		"joint_mode": func(s *snapshot) rtde.Value {
			m := s.jointMode
			return rtde.Vector6Int32Value([6]int32{m, m, m, m, m, m})
		},
		"safety_mode":               func(s *snapshot) rtde.Value { return rtde.Int32Value(s.safetyMode) },
		"safety_status":             func(s *snapshot) rtde.Value { return rtde.Int32Value(s.safetyMode) },
		"actual_tool_accelerometer": func(s *snapshot) rtde.Value { return rtde.Vector3DValue(s.accel) },
		"speed_scaling":             func(s *snapshot) rtde.Value { return d(s.speedScaling) },
		"target_speed_fraction":     func(s *snapshot) rtde.Value { return d(s.speedFraction) },
		"actual_momentum":           func(*snapshot) rtde.Value { return d(0) },
		"actual_main_voltage":       func(*snapshot) rtde.Value { return d(48) },
		"actual_robot_voltage":      func(*snapshot) rtde.Value { return d(48) },
		"actual_robot_current":      func(*snapshot) rtde.Value { return d(0) },
		"actual_joint_voltage":      func(*snapshot) rtde.Value { return v6([6]float64{48, 48, 48, 48, 48, 48}) },
		"runtime_state":             func(s *snapshot) rtde.Value { return rtde.Uint32Value(s.runtime) },
		"elbow_position":            func(s *snapshot) rtde.Value { return rtde.Vector3DValue(s.elbow) },
		"elbow_velocity":            func(s *snapshot) rtde.Value { return rtde.Vector3DValue(s.elbowV) },
		"robot_status_bits":         func(s *snapshot) rtde.Value { return rtde.Uint32Value(s.robotBits) },
		"safety_status_bits":        func(s *snapshot) rtde.Value { return rtde.Uint32Value(s.safetyBits) },
		"analog_io_types":           func(s *snapshot) rtde.Value { return rtde.Uint32Value(s.analogTypes) },
		"standard_analog_input0":    func(*snapshot) rtde.Value { return d(0) },
		"standard_analog_input1":    func(*snapshot) rtde.Value { return d(0) },
		"standard_analog_output0":   func(s *snapshot) rtde.Value { return d(s.analogOut[0]) },
		"standard_analog_output1":   func(s *snapshot) rtde.Value { return d(s.analogOut[1]) },
		"io_current":                func(*snapshot) rtde.Value { return d(0) },
		"euromap67_input_bits":      func(*snapshot) rtde.Value { return rtde.Uint32Value(0) },
		"euromap67_output_bits":     func(*snapshot) rtde.Value { return rtde.Uint32Value(0) },
		"euromap67_24V_voltage":     func(*snapshot) rtde.Value { return d(0) },
		"euromap67_24V_current":     func(*snapshot) rtde.Value { return d(0) },
		"tool_mode":                 func(s *snapshot) rtde.Value { return rtde.Uint32Value(uint32(s.jointMode)) },
		"tool_analog_input_types":   func(*snapshot) rtde.Value { return rtde.Uint32Value(0) },
		"tool_analog_input0":        func(*snapshot) rtde.Value { return d(0) },
		"tool_analog_input1":        func(*snapshot) rtde.Value { return d(0) },
		"tool_output_voltage":       func(s *snapshot) rtde.Value { return rtde.Int32Value(s.toolVoltage) },
		"tool_output_current":       func(*snapshot) rtde.Value { return d(0) },
		"tool_temperature":          func(*snapshot) rtde.Value { return d(25) },
		"tcp_force_scalar":          func(*snapshot) rtde.Value { return d(0) },
		"tool_output_mode":          func(*snapshot) rtde.Value { return rtde.Uint8Value(0) },
		"tool_digital_output0_mode": func(*snapshot) rtde.Value { return rtde.Uint8Value(0) },
		"tool_digital_output1_mode": func(*snapshot) rtde.Value { return rtde.Uint8Value(0) },
		"payload":                   func(s *snapshot) rtde.Value { return d(s.payload) },
		"payload_cog":               func(s *snapshot) rtde.Value { return rtde.Vector3DValue(s.cog) },
		"payload_inertia":           z6,
		"script_control_line":       func(s *snapshot) rtde.Value { return rtde.Uint32Value(s.scriptLine) },
		"collision_detection_ratio": func(*snapshot) rtde.Value { return d(0) },
		"output_bit_registers0_to_31": func(s *snapshot) rtde.Value {
			return rtde.Uint32Value(uint32(s.outBits[0]))
		},
		"output_bit_registers32_to_63": func(s *snapshot) rtde.Value {
			return rtde.Uint32Value(uint32(s.outBits[0] >> 32))
		},
		"input_bit_registers0_to_31":  func(s *snapshot) rtde.Value { return rtde.Uint32Value(uint32(s.inBits[0])) },
		"input_bit_registers32_to_63": func(s *snapshot) rtde.Value { return rtde.Uint32Value(uint32(s.inBits[0] >> 32)) },
	}
	for i := 0; i < rtde.NumRegisters; i++ {
		n := i
		g[rtde.OutputIntRegister(n)] = func(s *snapshot) rtde.Value { return rtde.Int32Value(s.outInt[n]) }
		g[rtde.OutputDoubleRegister(n)] = func(s *snapshot) rtde.Value { return d(s.outDouble[n]) }
		g[rtde.InputIntRegister(n)] = func(s *snapshot) rtde.Value { return rtde.Int32Value(s.inInt[n]) }
		g[rtde.InputDoubleRegister(n)] = func(s *snapshot) rtde.Value { return d(s.inDouble[n]) }
	}
	for i := 64; i < 128; i++ {
		n := i
		g[fmt.Sprintf("output_bit_register_%d", n)] = func(s *snapshot) rtde.Value {
			return rtde.BoolValue(s.outBits[1]&(1<<(n-64)) != 0)
		}
		g[fmt.Sprintf("input_bit_register_%d", n)] = func(s *snapshot) rtde.Value {
			return rtde.BoolValue(s.inBits[1]&(1<<(n-64)) != 0)
		}
	}
	for name, gt := range g {
		t, ok := rtde.OutputFieldType(name)
		if !ok {
			panic("ursim: getter for unknown output " + name)
		}
		if gt(&snapshot{}).Type() != t {
			panic("ursim: getter type mismatch for " + name)
		}
	}
	outputGetters = g
}

// rtdeConn is one RTDE client connection. The handler goroutine reads;
// a writer goroutine sends replies, messages and the newest data package.
type rtdeConn struct {
	s        *Sim
	conn     net.Conn
	remote   string
	version  uint16 // negotiated protocol version (1 until V)
	output   *rtde.Recipe
	getters  []getter
	decim    int
	counter  int
	started  bool
	inputs   map[uint8]*rtde.Recipe
	nextIn   uint8
	values   []rtde.Value
	outBuf   []byte
	wmu      sync.Mutex
	queue    [][]byte
	data     [][]byte // pending data packages, oldest first (at most maxDataBacklog)
	skipped  uint64
	wake     chan struct{}
	writeErr error

	unknownIn uint64         // input DATA_PACKAGEs with an unknown recipe id (ignored)
	warnedIn  map[uint8]bool // unknown recipe ids the client was told about
}

// inputIDs lists the client's input recipe ids ("none" if it has none).
func (rc *rtdeConn) inputIDs() string {
	ids := make([]int, 0, len(rc.inputs))
	for id := range rc.inputs {
		ids = append(ids, int(id))
	}
	if len(ids) == 0 {
		return "none"
	}
	slices.Sort(ids)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.Itoa(id)
	}
	return strings.Join(out, ", ")
}

func (rc *rtdeConn) enqueue(pkt []byte) {
	rc.wmu.Lock()
	if len(rc.queue) < 1024 {
		rc.queue = append(rc.queue, pkt)
	}
	rc.wmu.Unlock()
	select {
	case rc.wake <- struct{}{}:
	default:
	}
}

// maxDataBacklog bounds the data packages waiting for the writer (250 ms
// at 500 Hz, the same as the loop's resynchronisation threshold). After a
// stall of the control loop (which then runs the missed cycles back to
// back) the backlog is delivered; a client that does not read fast enough
// loses the oldest packages, like on a controller short of CPU.
const maxDataBacklog = 125

// pushData queues a data package, dropping the oldest beyond the backlog.
func (rc *rtdeConn) pushData(pkt []byte) {
	rc.wmu.Lock()
	if len(rc.data) >= maxDataBacklog {
		copy(rc.data, rc.data[1:])
		rc.data = rc.data[:len(rc.data)-1]
		rc.skipped++
	}
	rc.data = append(rc.data, pkt)
	rc.wmu.Unlock()
	select {
	case rc.wake <- struct{}{}:
	default:
	}
}

func (rc *rtdeConn) writer(done <-chan struct{}) {
	var buf []byte
	for {
		select {
		case <-done:
			return
		case <-rc.wake:
		}
		rc.wmu.Lock()
		buf = buf[:0]
		for _, p := range rc.queue {
			buf = append(buf, p...)
		}
		rc.queue = rc.queue[:0]
		for _, d := range rc.data {
			buf = append(buf, d...)
		}
		rc.data = rc.data[:0]
		rc.wmu.Unlock()
		if len(buf) == 0 {
			continue
		}
		_ = rc.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if _, err := rc.conn.Write(buf); err != nil {
			rc.conn.Close() // the reader sees the error and cleans up
			return
		}
	}
}

func (rc *rtdeConn) reply(cmd rtde.Command, payload []byte) {
	pkt, err := rtde.AppendPackage(nil, cmd, payload)
	if err == nil {
		rc.enqueue(pkt)
	}
}

func (rc *rtdeConn) message(level rtde.MessageLevel, text string) {
	m := rtde.TextMessage{Message: text, Source: "URControl", Level: level}
	if rc.version >= 2 {
		rc.reply(rtde.CmdTextMessage, m.Encode())
	} else {
		rc.reply(rtde.CmdTextMessage, m.EncodeV1())
	}
}

func (s *Sim) serveRTDE(conn net.Conn) {
	rc := &rtdeConn{s: s, conn: conn, remote: conn.RemoteAddr().String(), version: 1, inputs: map[uint8]*rtde.Recipe{},
		nextIn: 1, wake: make(chan struct{}, 1)}
	s.mu.Lock()
	s.rtdeConns[rc] = struct{}{}
	s.mu.Unlock()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rc.writer(done)
	}()
	err := rc.readLoop()
	s.mu.Lock()
	delete(s.rtdeConns, rc)
	for f, o := range s.owner {
		if o == rc {
			delete(s.owner, f)
		}
	}
	s.mu.Unlock()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		s.log.Warn("rtde: closing connection", "client", rc.remote, "reason", err)
		// best effort: tell the client why, then give the writer a moment
		rc.message(rtde.LevelException, "closing connection: "+err.Error())
		time.Sleep(20 * time.Millisecond)
	}
	close(done)
	conn.Close()
	wg.Wait()
}

func (rc *rtdeConn) readLoop() error {
	br := bufio.NewReaderSize(rc.conn, 1<<16)
	buf := make([]byte, 4096)
	for {
		cmd, p, err := readPackage(br, buf)
		if errors.Is(err, errUnknownType) {
			// The framing is intact (the payload was skipped): tell the
			// client and carry on, like the controller ignoring a package
			// it does not know.
			rc.message(rtde.LevelWarning, err.Error())
			continue
		}
		if err != nil {
			return err
		}
		if cap(p) > cap(buf) {
			buf = p[:0]
		}
		if err := rc.handle(cmd, p); err != nil {
			return err
		}
	}
}

// errUnknownType: a well-framed package of a type RTDE does not define.
var errUnknownType = errors.New("rtde: unknown package type")

// readPackage reads one package (spec §1 "Framing"). A size below the
// 3-byte header loses the framing and is an error (the connection
// closes); a package of an unknown type is skipped whole and reported as
// errUnknownType (the connection goes on). The uint16 size field bounds
// every package to 65535 bytes.
func readPackage(r *bufio.Reader, buf []byte) (rtde.Command, []byte, error) {
	hdr, err := r.Peek(rtde.HeaderSize)
	if err != nil {
		if len(hdr) > 0 && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	size := int(hdr[0])<<8 | int(hdr[1])
	cmd := rtde.Command(hdr[2])
	if size >= rtde.HeaderSize && !cmd.Known() {
		if _, err := r.Discard(size); err != nil {
			return cmd, nil, fmt.Errorf("rtde: truncated package of unknown type 0x%02x (%d bytes announced): %w", byte(cmd), size, io.ErrUnexpectedEOF)
		}
		return cmd, nil, fmt.Errorf("%w 0x%02x (%d bytes) ignored", errUnknownType, byte(cmd), size)
	}
	return rtde.ReadPackage(r, buf)
}

func (rc *rtdeConn) handle(cmd rtde.Command, p []byte) error {
	s := rc.s
	switch cmd {
	case rtde.CmdRequestProtocolVersion:
		v, err := rtde.DecodeVersionRequest(p)
		if err != nil {
			return err
		}
		ok := v == 1 || v == 2
		if ok {
			s.mu.Lock() // publishLocked reads the version for text messages
			rc.version = v
			s.mu.Unlock()
		}
		rc.reply(cmd, rtde.EncodeAccepted(ok))
	case rtde.CmdGetURControlVersion:
		if len(p) != 0 {
			return fmt.Errorf("%w: GET_URCONTROL_VERSION with %d payload bytes", rtde.ErrMalformed, len(p))
		}
		rc.reply(cmd, s.opts.Version.Encode())
	case rtde.CmdSetupOutputs:
		freq, names, err := rtde.DecodeSetupOutputs(rc.version, p)
		if err != nil {
			return err
		}
		s.mu.Lock()
		started := rc.started
		s.mu.Unlock()
		if started {
			rc.message(rtde.LevelError, "cannot set up outputs while started; send CONTROL_PACKAGE_PAUSE first")
			rc.reply(cmd, rtde.SetupReply{RecipeID: 0}.Encode())
			return nil
		}
		if rc.version < 2 {
			freq = rtde.MaxFrequencyHz
		}
		if !(freq > 0 && freq <= rtde.MaxFrequencyHz) {
			rc.message(rtde.LevelError, fmt.Sprintf("output frequency %v Hz outside (0, %d]", freq, rtde.MaxFrequencyHz))
			rc.reply(cmd, rtde.SetupReply{RecipeID: 0}.Encode())
			return nil
		}
		types := make([]string, len(names))
		dts := make([]rtde.DataType, len(names))
		getters := make([]getter, len(names))
		ok := true
		for i, n := range names {
			g, found := outputGetters[n]
			if !found {
				types[i], ok = rtde.TypeNotFound, false
				continue
			}
			dts[i], _ = rtde.OutputFieldType(n)
			types[i], getters[i] = dts[i].String(), g
		}
		if ok {
			r, err := rtde.NewRecipe(1, names, dts)
			if err != nil {
				rc.message(rtde.LevelError, err.Error())
				rc.reply(cmd, rtde.SetupReply{RecipeID: 0}.Encode())
				return nil
			}
			s.mu.Lock()
			rc.output, rc.getters = r, getters
			rc.decim = max(1, int(math.Floor(rtde.MaxFrequencyHz/freq+1e-9)))
			s.mu.Unlock()
		}
		rc.reply(cmd, rtde.SetupReply{RecipeID: 1, Types: types}.Encode())
	case rtde.CmdSetupInputs:
		names, err := rtde.DecodeSetupInputs(p)
		if err != nil {
			return err
		}
		types := make([]string, len(names))
		dts := make([]rtde.DataType, len(names))
		ok := true
		s.mu.Lock()
		for i, n := range names {
			t, found := rtde.InputFieldType(n)
			switch {
			case !found:
				types[i], ok = rtde.TypeNotFound, false
			case s.owner[n] != nil && s.owner[n] != rc:
				types[i], ok = rtde.TypeInUse, false
			default:
				types[i], dts[i] = t.String(), t
			}
		}
		id := uint8(0)
		if ok && rc.nextIn < 255 {
			r, err := rtde.NewRecipe(rc.nextIn, names, dts)
			if err == nil {
				id = rc.nextIn
				rc.inputs[id] = r
				rc.nextIn++
				for _, n := range names {
					s.owner[n] = rc
				}
			}
		}
		s.mu.Unlock()
		rc.reply(cmd, rtde.SetupReply{RecipeID: id, Types: types}.Encode())
	case rtde.CmdStart:
		if len(p) != 0 {
			return fmt.Errorf("%w: CONTROL_PACKAGE_START with %d payload bytes", rtde.ErrMalformed, len(p))
		}
		s.mu.Lock()
		ready := rc.output != nil || len(rc.inputs) > 0
		s.mu.Unlock()
		if !ready {
			// Out of order: nothing to synchronise. Refused (accepted = 0)
			// with the reason; the connection stays usable.
			rc.message(rtde.LevelError, "CONTROL_PACKAGE_START refused: no recipe set up (send CONTROL_PACKAGE_SETUP_OUTPUTS and/or CONTROL_PACKAGE_SETUP_INPUTS first)")
			rc.reply(cmd, rtde.EncodeAccepted(false))
			return nil
		}
		rc.reply(cmd, rtde.EncodeAccepted(true)) // the reply precedes the first data package
		s.mu.Lock()
		rc.started = true
		rc.counter = rc.decim // first package at the next cycle
		s.mu.Unlock()
	case rtde.CmdPause:
		if len(p) != 0 {
			return fmt.Errorf("%w: CONTROL_PACKAGE_PAUSE with %d payload bytes", rtde.ErrMalformed, len(p))
		}
		s.mu.Lock()
		rc.started = false
		s.mu.Unlock()
		rc.wmu.Lock()
		rc.data = rc.data[:0]
		rc.wmu.Unlock()
		rc.reply(cmd, rtde.EncodeAccepted(true))
	case rtde.CmdDataPackage:
		if len(p) < 1 {
			return fmt.Errorf("%w: empty DATA_PACKAGE", rtde.ErrMalformed)
		}
		r := rc.inputs[p[0]]
		if r == nil {
			// A well-framed package for a recipe this client never set up
			// (or whose setup failed: id 0). Nothing is applied; the client
			// is told once per recipe id and the connection goes on.
			rc.unknownIn++
			if rc.warnedIn[p[0]] {
				return nil
			}
			if rc.warnedIn == nil {
				rc.warnedIn = map[uint8]bool{}
			}
			rc.warnedIn[p[0]] = true
			msg := fmt.Sprintf("DATA_PACKAGE for unknown input recipe id %d ignored (set up inputs with CONTROL_PACKAGE_SETUP_INPUTS; accepted ids: %s)", p[0], rc.inputIDs())
			s.log.Warn("rtde: "+msg, "client", rc.remote)
			rc.message(rtde.LevelError, msg)
			return nil
		}
		vals, err := r.Unpack(p, rc.values)
		if err != nil {
			return err
		}
		rc.values = vals
		s.mu.Lock()
		err = s.c.applyInputs(r.Names, vals)
		s.mu.Unlock()
		if err != nil {
			rc.message(rtde.LevelWarning, err.Error())
		}
	case rtde.CmdTextMessage:
		var m rtde.TextMessage
		var err error
		if rc.version >= 2 {
			m, err = rtde.DecodeTextMessage(p)
		} else if len(p) > 0 {
			m = rtde.TextMessage{Level: rtde.MessageLevel(p[0]), Message: string(p[1:])}
		}
		if err != nil {
			return err
		}
		s.log.Info("rtde client message", "client", rc.remote, "source", m.Source, "level", m.Level, "msg", m.Message)
	}
	return nil
}

// applyInputs stores one input DATA_PACKAGE. Output masks apply to the
// values of the same package.
func (c *controller) applyInputs(names []string, vals []rtde.Value) error {
	var stdMask, stdVal, confMask, confVal, toolMask, toolVal, aoMask, aoType uint8
	var ao [2]float64
	var sliderMask uint32
	slider := -1.0
	var bad []string
	for i, n := range names {
		v := vals[i]
		c.inputSeen[n] = c.t
		switch {
		case strings.HasPrefix(n, "input_int_register_"):
			k, _ := strconv.Atoi(n[len("input_int_register_"):])
			c.inInt[k] = v.Int()
		case strings.HasPrefix(n, "input_double_register_"):
			k, _ := strconv.Atoi(n[len("input_double_register_"):])
			f := v.Float()
			if math.IsNaN(f) || math.IsInf(f, 0) {
				bad = append(bad, n)
				continue
			}
			c.inDouble[k] = f
		case n == "input_bit_registers0_to_31":
			c.inBits[0] = c.inBits[0]&^0xFFFFFFFF | v.Uint()&0xFFFFFFFF
		case n == "input_bit_registers32_to_63":
			c.inBits[0] = c.inBits[0]&0xFFFFFFFF | (v.Uint()&0xFFFFFFFF)<<32
		case strings.HasPrefix(n, "input_bit_register_"):
			k, _ := strconv.Atoi(n[len("input_bit_register_"):])
			if v.Bool() {
				c.inBits[1] |= 1 << (k - 64)
			} else {
				c.inBits[1] &^= 1 << (k - 64)
			}
		case n == "standard_digital_output_mask":
			stdMask = uint8(v.Uint())
		case n == "standard_digital_output":
			stdVal = uint8(v.Uint())
		case n == "configurable_digital_output_mask":
			confMask = uint8(v.Uint())
		case n == "configurable_digital_output":
			confVal = uint8(v.Uint())
		case n == "tool_digital_output_mask":
			toolMask = uint8(v.Uint())
		case n == "tool_digital_output":
			toolVal = uint8(v.Uint())
		case n == "standard_analog_output_mask":
			aoMask = uint8(v.Uint())
		case n == "standard_analog_output_type":
			aoType = uint8(v.Uint())
		case n == "standard_analog_output_0":
			ao[0] = v.Float()
		case n == "standard_analog_output_1":
			ao[1] = v.Float()
		case n == "speed_slider_mask":
			sliderMask = uint32(v.Uint())
		case n == "speed_slider_fraction":
			slider = v.Float()
		}
	}
	c.stdDO = c.stdDO&^stdMask | stdVal&stdMask
	c.confDO = c.confDO&^confMask | confVal&confMask
	c.toolDO = c.toolDO&^(toolMask&3) | toolVal&toolMask&3
	for i := 0; i < 2; i++ {
		if aoMask&(1<<i) == 0 {
			continue
		}
		if !(ao[i] >= 0 && ao[i] <= 1) {
			bad = append(bad, fmt.Sprintf("standard_analog_output_%d", i))
			continue
		}
		c.analogOut[i] = ao[i]
		c.analogDomain[i] = (aoType >> i) & 1
	}
	if sliderMask&1 != 0 {
		if slider >= 0 && slider <= 1 {
			c.speedFraction = slider
		} else {
			bad = append(bad, "speed_slider_fraction")
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("ignored invalid input values: %s", strings.Join(bad, ", "))
	}
	return nil
}

// publishLocked sends the state of this cycle to the clients.
func (s *Sim) publishLocked() {
	c := s.c
	events := c.events
	c.events = nil
	s.history = append(s.history, events...)
	if len(s.history) > maxHistory {
		s.history = append(s.history[:0], s.history[len(s.history)-maxHistory:]...)
	}
	var snap *snapshot
	for rc := range s.rtdeConns {
		if rc.started && rc.output != nil {
			rc.counter++
			if rc.counter >= rc.decim {
				rc.counter = 0
				if snap == nil {
					snap = c.snapshot()
				}
				vals := make([]rtde.Value, len(rc.getters))
				for i, g := range rc.getters {
					vals[i] = g(snap)
				}
				payload, err := rc.output.Pack(rc.outBuf[:0], vals)
				if err == nil {
					rc.outBuf = payload
					if pkt, err := rtde.AppendPackage(nil, rtde.CmdDataPackage, payload); err == nil {
						rc.pushData(pkt)
					}
				}
			}
		}
		for _, ev := range events {
			switch ev.kind {
			case evRuntimeException:
				rc.message(rtde.LevelException, runtimeText(ev))
			case evSafety:
				rc.message(rtde.LevelWarning, ev.text)
			}
		}
	}
	for _, ev := range events {
		switch ev.kind {
		case evRuntimeException:
			s.log.Warn("runtime exception", "line", ev.line, "col", ev.col, "msg", ev.text)
		case evSafety:
			s.log.Warn("safety", "msg", ev.text)
		}
	}
	if len(s.secConns) > 0 {
		s.publishSecondaryLocked(events)
	}
}

func runtimeText(ev event) string {
	if ev.line > 0 {
		return fmt.Sprintf("line %d col %d: %s", ev.line, ev.col, ev.text)
	}
	return ev.text
}
