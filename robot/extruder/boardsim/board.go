// Package boardsim simulates the dual-nozzle head's Marlin controller board
// on a pseudo-terminal, for tests and `fabcell run --dry-run`. It speaks the
// Marlin host protocol the way Marlin 2.x does (queue.cpp, temperature.cpp):
//
//   - numbered lines "N<n> <cmd>*<cs>" are checked for the line number
//     (last+1, M110 exempt) and the XOR checksum; a bad line prints
//     "Error:<reason>, Last Line: <last>", drops everything already
//     received, then "Resend: <last+1>" and "ok";
//   - up to BufSize commands are queued; each prints "ok" when executed;
//     blocking commands (M109, M190, G4) stop the queue, print temperatures
//     every second and "echo:busy: processing" every KeepaliveS;
//   - an emergency parser acts on M108 (break a heater wait) and M112 (kill)
//     as soon as the bytes arrive;
//   - per heater a first-order thermal model (heater.go) with Marlin's
//     MINTEMP/MAXTEMP, heating watch and thermal-runaway checks; a fault
//     prints "Error:<what>, system stopped! Heater_ID: <id>" and
//     "Error:Printer halted. kill() called!" and the board stops answering.
//
// Fault injection for tests: CorruptLine, DropLine, DropOK, HeaterFailure,
// ThermistorOpen/Short, Reboot. Simulated time runs Options.Speed times
// faster than the wall clock.
package boardsim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// Bed selects the heated bed where a heater index is expected.
const Bed = -1

// Options configure the simulated board. Zero values mean the defaults in
// brackets. Window, hysteresis, residency, MINTEMP, cold-extrusion limit,
// thermal-protection periods, BUFSIZE and keep-alive follow Marlin 2.1's
// example Configuration(_adv).h; the thermal model is ours, and the
// nozzle MAXTEMP is raised from Marlin's 275 °C example to 300 °C for the
// 260–280 °C PA/CCF nozzles.
type Options struct {
	Tools int     // nozzles [2]: T0 PA matrix, T1 CCF
	Speed float64 // simulated seconds per wall-clock second [1]
	Tick  time.Duration
	// Thermal model: time constant and full-power equilibrium of a nozzle
	// [60 s, 450 °C] and of the bed [200 s, 130 °C]; ambient [25 °C].
	ToolTauS, ToolFullPowerC float64
	BedTauS, BedFullPowerC   float64
	AmbientC                 float64
	// Limits: MAXTEMP nozzle/bed [300/150 °C], MINTEMP [5 °C], cold
	// extrusion below ExtrudeMinC [170 °C].
	ToolMaxC, BedMaxC, MinTempC, ExtrudeMinC float64
	// M109/M190: window [1 °C], hysteresis [3 °C], residency [10 s].
	TempWindowC, TempHysteresisC, ResidencyS float64
	// Thermal protection, nozzle: runaway period/hysteresis [40 s, 4 °C],
	// watch period/increase [40 s, 2 °C]; bed: [20 s, 2 °C], [60 s, 2 °C].
	RunawayPeriodS, RunawayHystC, WatchPeriodS, WatchIncC             float64
	BedRunawayPeriodS, BedRunawayHystC, BedWatchPeriodS, BedWatchIncC float64
	BufSize                                                           int     // command queue [4]
	KeepaliveS                                                        float64 // busy keep-alive interval [2 s]
	AdvancedOK                                                        bool    // "ok N<n> P<p> B<b>" replies
	Banner                                                            bool    // print "start" and the version at Start
}

func (o *Options) defaults() {
	d := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	if o.Tools <= 0 {
		o.Tools = 2
	}
	d(&o.Speed, 1)
	if o.Tick <= 0 {
		o.Tick = 10 * time.Millisecond
	}
	d(&o.ToolTauS, 60)
	d(&o.ToolFullPowerC, 450)
	d(&o.BedTauS, 200)
	d(&o.BedFullPowerC, 130)
	d(&o.AmbientC, 25)
	d(&o.ToolMaxC, 300)
	d(&o.BedMaxC, 150)
	d(&o.MinTempC, 5)
	d(&o.ExtrudeMinC, 170)
	d(&o.TempWindowC, 1)
	d(&o.TempHysteresisC, 3)
	d(&o.ResidencyS, 10)
	d(&o.RunawayPeriodS, 40)
	d(&o.RunawayHystC, 4)
	d(&o.WatchPeriodS, 40)
	d(&o.WatchIncC, 2)
	d(&o.BedRunawayPeriodS, 20)
	d(&o.BedRunawayHystC, 2)
	d(&o.BedWatchPeriodS, 60)
	d(&o.BedWatchIncC, 2)
	if o.BufSize <= 0 {
		o.BufSize = 4
	}
	d(&o.KeepaliveS, 2)
}

func (o Options) validate() error {
	switch {
	case o.Tools > 8:
		return fmt.Errorf("boardsim: %d tools (at most 8)", o.Tools)
	case !(o.Speed > 0 && o.Speed <= 1e5):
		return fmt.Errorf("boardsim: speed %v outside (0, 1e5]", o.Speed)
	case o.ToolFullPowerC <= o.AmbientC || o.BedFullPowerC <= o.AmbientC:
		return fmt.Errorf("boardsim: full-power temperatures must exceed ambient %v °C", o.AmbientC)
	case o.ToolTauS <= 0 || o.BedTauS <= 0:
		return fmt.Errorf("boardsim: time constants must be > 0")
	case o.BufSize > 64:
		return fmt.Errorf("boardsim: buffer size %d > 64", o.BufSize)
	}
	return nil
}

// Executed is one command the board executed. N is −1 for unnumbered
// lines.
type Executed struct {
	N   int
	Cmd string
}

type command struct {
	n   int
	cmd string
}

// Board is a running simulated controller board.
type Board struct {
	opts   Options
	master *os.File
	slave  *os.File
	path   string
	quit   chan struct{}
	wg     sync.WaitGroup
	start  time.Time
	tick   *time.Ticker
	once   sync.Once

	rxSignal chan struct{}
	rxMu     sync.Mutex
	rx       []string

	emergBreak atomic.Bool
	emergKill  atomic.Bool

	wmu sync.Mutex // serialises writes to the master

	mu          sync.Mutex
	heaters     []*heater // tools, then the bed (last)
	tool        int
	lastN       int
	ring        []command
	halted      bool
	haltReason  string
	executed    []Executed
	received    int
	absE        bool // M82 (default) / M83
	absXYZ      bool // G90 (default) / G91
	pos         [3]float64
	ePos        []float64 // per tool, mm
	extrudedMM  []float64 // filament actually pushed per tool
	coldAllowed bool
	servo       [4]float64
	fan         int
	autoReportS float64
	nextReport  float64
	busy        bool
	nextKeep    float64
	lastStep    float64
	corrupt     map[int]int
	dropLine    map[int]int
	dropOK      map[int]int
	out         []string
}

// Start opens a pseudo-terminal and runs the board on its master side. The
// slave's path (Path) is what a driver opens as its serial port. The board
// runs until Close or until ctx ends.
func Start(ctx context.Context, opts Options) (*Board, error) {
	opts.defaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("boardsim: open pty: %w", err)
	}
	// Raw mode on the line: no echo, no CR/LF translation, byte-exact.
	if _, err := term.MakeRaw(int(s.Fd())); err != nil {
		m.Close()
		s.Close()
		return nil, fmt.Errorf("boardsim: raw mode: %w", err)
	}
	// pty.Open leaves the master in blocking mode (its ioctls use Fd());
	// re-open it non-blocking so Close interrupts a pending Read.
	master, err := pollable(m)
	if err != nil {
		s.Close()
		return nil, err
	}
	b := &Board{
		opts:        opts,
		master:      master,
		slave:       s,
		path:        s.Name(),
		quit:        make(chan struct{}),
		start:       time.Now(),
		rxSignal:    make(chan struct{}, 1),
		corrupt:     map[int]int{},
		dropLine:    map[int]int{},
		dropOK:      map[int]int{},
		absE:        true,
		absXYZ:      true,
		ePos:        make([]float64, opts.Tools),
		extrudedMM:  make([]float64, opts.Tools),
		autoReportS: 0,
	}
	for i := 0; i < opts.Tools; i++ {
		b.heaters = append(b.heaters, &heater{id: strconv.Itoa(i), tempC: opts.AmbientC, tauS: opts.ToolTauS,
			fullPowerC: opts.ToolFullPowerC, maxC: opts.ToolMaxC, minC: opts.MinTempC, ambientC: opts.AmbientC,
			trPeriodS: opts.RunawayPeriodS, trHystC: opts.RunawayHystC, watchPerS: opts.WatchPeriodS, watchIncC: opts.WatchIncC,
			residencyStart: -1})
	}
	b.heaters = append(b.heaters, &heater{id: "bed", isBed: true, tempC: opts.AmbientC, tauS: opts.BedTauS,
		fullPowerC: opts.BedFullPowerC, maxC: opts.BedMaxC, minC: opts.MinTempC, ambientC: opts.AmbientC,
		trPeriodS: opts.BedRunawayPeriodS, trHystC: opts.BedRunawayHystC, watchPerS: opts.BedWatchPeriodS, watchIncC: opts.BedWatchIncC,
		residencyStart: -1})
	b.tick = time.NewTicker(opts.Tick)
	if opts.Banner {
		b.out = append(b.out, "start", "echo:Marlin 2.1.2 (fabcell boardsim)", "echo: Free Memory: 4096  PlannerBufferBytes: 1232")
	}
	b.wg.Add(2)
	go b.readLoop()
	go b.loop()
	if ctx.Done() != nil {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			select {
			case <-ctx.Done():
				go b.Close() // Close waits for this goroutine
			case <-b.quit:
			}
		}()
	}
	return b, nil
}

func pollable(f *os.File) (*os.File, error) {
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("boardsim: dup pty: %w", err)
	}
	f.Close()
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("boardsim: non-blocking pty: %w", err)
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), nil
}

// Path returns the pty slave device, e.g. /dev/pts/3.
func (b *Board) Path() string { return b.path }

// Close stops the board and releases the pty. Safe to call twice.
func (b *Board) Close() error {
	var err error
	b.once.Do(func() {
		close(b.quit)
		err = b.master.Close()
		b.wg.Wait()
		b.tick.Stop()
		if e := b.slave.Close(); err == nil {
			err = e
		}
	})
	return err
}

// simNow returns simulated seconds since Start.
func (b *Board) simNow() float64 { return time.Since(b.start).Seconds() * b.opts.Speed }

// ---- reader: wire faults and the emergency parser ----

func (b *Board) readLoop() {
	defer b.wg.Done()
	buf := make([]byte, 4096)
	var partial []byte
	for {
		n, err := b.master.Read(buf)
		if n > 0 {
			partial = append(partial, buf[:n]...)
			for {
				i := indexEOL(partial)
				if i < 0 {
					break
				}
				line := string(partial[:i])
				partial = partial[i+1:]
				b.receive(line)
			}
			if len(partial) > 4096 {
				partial = partial[:0] // garbage without newline
			}
		}
		if err != nil {
			return
		}
	}
}

func indexEOL(p []byte) int {
	for i, c := range p {
		if c == '\n' || c == '\r' {
			return i
		}
	}
	return -1
}

// receive applies wire faults and the emergency parser, then queues the
// line for the main loop.
func (b *Board) receive(line string) {
	if strings.TrimSpace(line) == "" {
		return
	}
	n, hasN := lineNumber(line)
	b.mu.Lock()
	if hasN {
		if b.dropLine[n] > 0 {
			b.dropLine[n]--
			b.mu.Unlock()
			return
		}
		if b.corrupt[n] > 0 {
			b.corrupt[n]--
			line = corruptLine(line)
		}
	}
	b.mu.Unlock()
	switch emergencyCode(line) {
	case "M108":
		b.emergBreak.Store(true)
	case "M112":
		b.emergKill.Store(true)
	}
	b.rxMu.Lock()
	b.rx = append(b.rx, line)
	b.rxMu.Unlock()
	select {
	case b.rxSignal <- struct{}{}:
	default:
	}
}

// lineNumber parses a leading "N<digits>".
func lineNumber(line string) (int, bool) {
	s := strings.TrimLeft(line, " ")
	if len(s) < 2 || s[0] != 'N' {
		return 0, false
	}
	j := 1
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	v, err := strconv.Atoi(s[1:j])
	return v, err == nil
}

// corruptLine flips the lowest bit of the first byte of the command body,
// which always breaks the XOR checksum.
func corruptLine(line string) string {
	i := strings.IndexByte(line, ' ')
	if i < 0 || i+1 >= len(line) {
		return line
	}
	b := []byte(line)
	b[i+1] ^= 0x01
	return string(b)
}

// emergencyCode returns M108/M112/M410 when the line is one of them (with
// or without a line number), like Marlin's EmergencyParser.
func emergencyCode(line string) string {
	s := strings.TrimSpace(line)
	if len(s) > 0 && s[0] == 'N' {
		i := 1
		for i < len(s) && (s[i] >= '0' && s[i] <= '9') {
			i++
		}
		s = strings.TrimLeft(s[i:], " ")
	}
	for _, c := range []string{"M108", "M112", "M410"} {
		if strings.HasPrefix(s, c) && (len(s) == len(c) || s[len(c)] == ' ' || s[len(c)] == '*' || s[len(c)] == ';') {
			return c
		}
	}
	return ""
}

// ---- output ----

// emit queues a line (b.mu held); flush writes the queue.
func (b *Board) emit(format string, args ...any) {
	if len(args) == 0 {
		b.out = append(b.out, format)
		return
	}
	b.out = append(b.out, fmt.Sprintf(format, args...))
}

func (b *Board) flush() {
	b.mu.Lock()
	out := b.out
	b.out = nil
	b.mu.Unlock()
	if len(out) == 0 {
		return
	}
	var sb strings.Builder
	for _, l := range out {
		sb.WriteString(l)
		sb.WriteByte('\n')
	}
	b.wmu.Lock()
	defer b.wmu.Unlock()
	_, _ = b.master.Write([]byte(sb.String()))
}

// ---- main loop (Marlin's loop(): idle, get commands, execute) ----

func (b *Board) loop() {
	defer b.wg.Done()
	for {
		b.mu.Lock()
		b.idleLocked()
		var next *command
		if !b.halted {
			b.getCommandsLocked()
			if len(b.ring) > 0 {
				c := b.ring[0]
				b.ring = b.ring[1:]
				next = &c
			}
		} else {
			b.takeRx() // a killed board ignores its serial input
		}
		b.mu.Unlock()
		b.flush()
		if next != nil {
			b.execute(*next)
			b.flush()
			continue
		}
		select {
		case <-b.quit:
			return
		case <-b.rxSignal:
		case <-b.tick.C:
		}
	}
}

func (b *Board) takeRx() []string {
	b.rxMu.Lock()
	defer b.rxMu.Unlock()
	r := b.rx
	b.rx = nil
	return r
}

// idleLocked advances the heaters, runs the protection checks, the
// emergency parser's kill, auto-report and busy keep-alive.
func (b *Board) idleLocked() {
	now := b.simNow()
	dt := now - b.lastStep
	b.lastStep = now
	if b.halted {
		for _, h := range b.heaters {
			h.targetC = 0
			h.step(dt)
		}
		return
	}
	if b.emergKill.Swap(false) {
		b.killLocked("")
		return
	}
	for _, h := range b.heaters {
		h.step(dt)
	}
	for _, h := range b.heaters {
		if msg := h.check(now); msg != "" {
			b.emit("Error:%s, system stopped! Heater_ID: %s", msg, h.id)
			b.killLocked(msg)
			return
		}
	}
	if b.autoReportS > 0 && now >= b.nextReport {
		b.emit(" %s", b.tempReportLocked())
		b.nextReport = now + b.autoReportS
	}
	if b.busy && now >= b.nextKeep {
		b.emit("echo:busy: processing")
		b.nextKeep = now + b.opts.KeepaliveS
	}
}

func (b *Board) killLocked(reason string) {
	b.emit("Error:Printer halted. kill() called!")
	b.halted = true
	b.haltReason = reason
	if reason == "" {
		b.haltReason = "M112"
	}
	b.ring = nil
	for _, h := range b.heaters {
		h.targetC = 0
	}
}

// getCommandsLocked moves received lines into the command queue, checking
// line numbers and checksums (Marlin GCodeQueue::get_serial_commands).
func (b *Board) getCommandsLocked() {
	for len(b.ring) < b.opts.BufSize {
		b.rxMu.Lock()
		if len(b.rx) == 0 {
			b.rxMu.Unlock()
			return
		}
		line := b.rx[0]
		b.rx = b.rx[1:]
		b.rxMu.Unlock()
		if c, ok := b.parseLineLocked(line); ok {
			b.ring = append(b.ring, c)
		}
	}
}

// parseLineLocked validates one line; on a protocol error it answers
// Error/Resend/ok and flushes the receive buffer.
func (b *Board) parseLineLocked(line string) (command, bool) {
	s := line
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return command{}, false
	}
	apos := strings.LastIndexByte(s, '*')
	if s[0] == 'N' {
		b.received++
		npos := 0
		m110 := strings.Contains(s, "M110")
		if m110 && len(s) > 4 {
			if j := strings.IndexByte(s[4:], 'N'); j >= 0 {
				npos = 4 + j
			}
		}
		n := strtol(s[npos+1:])
		if n != int64(b.lastN)+1 && !m110 {
			b.lineErrorLocked("Line Number is not Last Line Number+1")
			return command{}, false
		}
		if apos < 0 {
			b.lineErrorLocked("No Checksum with line number")
			return command{}, false
		}
		var cs byte
		for i := 0; i < apos; i++ {
			cs ^= s[i]
		}
		if int64(cs) != strtol(s[apos+1:]) {
			b.lineErrorLocked("checksum mismatch")
			return command{}, false
		}
		b.lastN = int(n)
		body := s[1:apos]
		k := 0
		for k < len(body) && (body[k] >= '0' && body[k] <= '9' || body[k] == '-') {
			k++
		}
		return command{n: int(n), cmd: strings.TrimSpace(body[k:])}, true
	}
	if apos >= 0 {
		b.lineErrorLocked("No Line Number with checksum")
		return command{}, false
	}
	return command{n: -1, cmd: s}, true
}

// strtol parses a leading optionally signed integer like C's strtol.
func strtol(s string) int64 {
	s = strings.TrimLeft(s, " ")
	j := 0
	if j < len(s) && (s[j] == '-' || s[j] == '+') {
		j++
	}
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	v, _ := strconv.ParseInt(s[:j], 10, 64)
	return v
}

func (b *Board) lineErrorLocked(msg string) {
	b.emit("Error:%s, Last Line: %d", msg, b.lastN)
	b.takeRx() // Marlin drains its RX buffer
	b.emit("Resend: %d", b.lastN+1)
	b.emit("ok")
}

// ---- temperature report ----

func (b *Board) tempReportLocked() string {
	var sb strings.Builder
	act := b.heaters[b.tool]
	bed := b.heaters[len(b.heaters)-1]
	fmt.Fprintf(&sb, "T:%.2f /%.2f B:%.2f /%.2f", act.reading(), act.targetC, bed.reading(), bed.targetC)
	if b.opts.Tools > 1 {
		for i := 0; i < b.opts.Tools; i++ {
			h := b.heaters[i]
			fmt.Fprintf(&sb, " T%d:%.2f /%.2f", i, h.reading(), h.targetC)
		}
	}
	fmt.Fprintf(&sb, " @:%d B@:%d", act.power(), bed.power())
	if b.opts.Tools > 1 {
		for i := 0; i < b.opts.Tools; i++ {
			fmt.Fprintf(&sb, " @%d:%d", i, b.heaters[i].power())
		}
	}
	return sb.String()
}

// ---- inspection and fault injection ----

// Executed returns every command executed so far, in order.
func (b *Board) Executed() []Executed {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Executed(nil), b.executed...)
}

// Snapshot is the board's observable state.
type Snapshot struct {
	TempsC, TargetsC []float64 // tools then the bed (last), true temperatures
	Tool             int
	LastN            int
	Received         int       // numbered lines received (valid or not)
	EPosMM           []float64 // per tool, logical E position
	ExtrudedMM       []float64 // per tool, filament actually pushed
	Servo            [4]float64
	AutoReportS      float64
	Halted           bool
	HaltReason       string
	Queued           int // commands waiting in the command buffer
}

// Snapshot returns the current state.
func (b *Board) Snapshot() Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Snapshot{Tool: b.tool, LastN: b.lastN, Received: b.received, Servo: b.servo, AutoReportS: b.autoReportS,
		Halted: b.halted, HaltReason: b.haltReason, Queued: len(b.ring),
		EPosMM: append([]float64(nil), b.ePos...), ExtrudedMM: append([]float64(nil), b.extrudedMM...)}
	for _, h := range b.heaters {
		s.TempsC = append(s.TempsC, h.tempC)
		s.TargetsC = append(s.TargetsC, h.targetC)
	}
	return s
}

func (b *Board) heaterIdx(h int) (*heater, error) {
	if h == Bed {
		return b.heaters[len(b.heaters)-1], nil
	}
	if h < 0 || h >= b.opts.Tools {
		return nil, fmt.Errorf("boardsim: no heater %d", h)
	}
	return b.heaters[h], nil
}

// CorruptLine makes the next arrival of line n fail its checksum.
func (b *Board) CorruptLine(n int) {
	b.mu.Lock()
	b.corrupt[n]++
	b.mu.Unlock()
}

// DropLine makes the next arrival of line n vanish on the wire.
func (b *Board) DropLine(n int) {
	b.mu.Lock()
	b.dropLine[n]++
	b.mu.Unlock()
}

// DropOK executes line n but suppresses its "ok" once.
func (b *Board) DropOK(n int) {
	b.mu.Lock()
	b.dropOK[n]++
	b.mu.Unlock()
}

// HeaterFailure makes a heating element stop delivering power; with a
// target set, Marlin's protection then reports Thermal Runaway (or Heating
// failed while heating up).
func (b *Board) HeaterFailure(heaterIdx int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	h, err := b.heaterIdx(heaterIdx)
	if err != nil {
		return err
	}
	h.cartridgeFailed = true
	return nil
}

// ThermistorOpen makes a thermistor read −14 °C (MINTEMP).
func (b *Board) ThermistorOpen(heaterIdx int) error { return b.sensorFault(heaterIdx, sensorOpen) }

// ThermistorShort makes a thermistor read 999 °C (MAXTEMP).
func (b *Board) ThermistorShort(heaterIdx int) error { return b.sensorFault(heaterIdx, sensorShort) }

func (b *Board) sensorFault(heaterIdx int, f sensorF) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	h, err := b.heaterIdx(heaterIdx)
	if err != nil {
		return err
	}
	h.sensor = f
	return nil
}

// Reboot simulates a board reset: "start" is printed, the line number,
// queue, targets and positions are reset, faults cleared.
func (b *Board) Reboot() {
	b.mu.Lock()
	b.takeRx()
	b.ring = nil
	b.lastN = 0
	b.halted, b.haltReason = false, ""
	b.autoReportS = 0
	for _, h := range b.heaters {
		h.setTarget(0, b.simNow())
		h.cartridgeFailed = false
		h.sensor = sensorOK
	}
	for i := range b.ePos {
		b.ePos[i] = 0
	}
	b.tool = 0
	b.emit("start")
	b.mu.Unlock()
	b.flush()
}

// SetTempC forces a heater's true temperature (test setup).
func (b *Board) SetTempC(heaterIdx int, c float64) error {
	if math.IsNaN(c) {
		return errors.New("boardsim: NaN temperature")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	h, err := b.heaterIdx(heaterIdx)
	if err != nil {
		return err
	}
	h.tempC = c
	return nil
}
