package ursim

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// URScript values: int64 (URScript int, 32-bit range), float64, bool,
// string, []value (array, value semantics) and poseVal.
type value any

type poseVal [6]float64

// Script semantics that differ between URScript versions are fixed here:
// int / int is integer division truncating toward zero (as in C); arrays
// and poses are copied on assignment; a name assigned inside a function is
// local unless declared global or a global of that name was declared with
// "global" in that function.

// maxStatementsPerCycle: a program thread that runs this many statements in
// one 2 ms control cycle without waiting (sync, sleep, a motion) gets the
// controller's "infinite loop" runtime exception.
const maxStatementsPerCycle = 100000

type abortSignal struct{}

// thread runs one program in its own goroutine, in lock step with the
// control loop: the loop resumes it once per cycle and waits until it
// yields (it calls sync(), sleeps or waits for a motion) or ends.
type thread struct {
	c       *controller
	prog    *program
	globals map[string]value
	frames  []*frame
	resume  chan struct{}
	yieldCh chan struct{}
	done    chan struct{}
	abort   bool // set by the control loop before a resume
	err     error
	budget  int
	line    int
	started bool
}

type frame struct {
	fn      *funcDef
	locals  map[string]value
	globals map[string]bool // names declared global in this call
}

type flow int

const (
	flowNormal flow = iota
	flowReturn
	flowBreak
	flowContinue
	flowHalt
)

func newThread(c *controller, prog *program) *thread {
	return &thread{c: c, prog: prog, globals: map[string]value{}, resume: make(chan struct{}),
		yieldCh: make(chan struct{}), done: make(chan struct{})}
}

// start launches the goroutine; it waits for the first resume.
func (th *thread) start() {
	th.started = true
	go th.run()
}

func (th *thread) run() {
	defer close(th.done)
	defer func() {
		if r := recover(); r != nil {
			switch e := r.(type) {
			case abortSignal:
				th.err = errAborted
			case *haltSignal:
				th.err = nil
			case *ScriptError:
				th.err = e
			default:
				th.err = fmt.Errorf("internal error: %v", r)
			}
		}
	}()
	<-th.resume
	if th.abort {
		panic(abortSignal{})
	}
	th.budget = maxStatementsPerCycle
	th.frames = []*frame{{fn: th.prog.main, locals: th.globals}}
	th.execBlock(th.prog.main.body)
}

var errAborted = errors.New("program stopped")

// step resumes the thread for one control cycle. It reports whether the
// thread is still alive.
func (th *thread) step() bool {
	th.resume <- struct{}{}
	select {
	case <-th.yieldCh:
		return true
	case <-th.done:
		return false
	}
}

// kill aborts the thread and waits for its goroutine.
func (th *thread) kill() {
	if !th.started {
		return
	}
	select {
	case <-th.done:
		return
	default:
	}
	th.abort = true
	th.resume <- struct{}{}
	<-th.done
}

// yield gives the rest of the cycle back to the control loop.
func (th *thread) yield() {
	th.yieldCh <- struct{}{}
	<-th.resume
	if th.abort {
		panic(abortSignal{})
	}
	th.budget = maxStatementsPerCycle
}

// waitFor yields until cond holds (checked before each yield).
func (th *thread) waitFor(cond func() bool) {
	for !cond() {
		th.yield()
	}
}

func (th *thread) failf(p pos, format string, args ...any) {
	panic(errAt(p.line, p.col, format, args...))
}

func (th *thread) execBlock(ss []stmt) (flow, value) {
	for _, s := range ss {
		f, v := th.exec(s)
		if f != flowNormal {
			return f, v
		}
	}
	return flowNormal, nil
}

func (th *thread) exec(s stmt) (flow, value) {
	p := s.at()
	th.line = p.line
	th.c.scriptLine = uint32(p.line)
	th.budget--
	if th.budget < 0 {
		th.failf(p, "infinite loop detected: more than %d statements in one control cycle without sync(), sleep() or a motion", maxStatementsPerCycle)
	}
	switch x := s.(type) {
	case *assignStmt:
		th.assign(x)
	case *exprStmt:
		th.eval(x.x)
	case *ifStmt:
		for i, c := range x.conds {
			if th.truth(c) {
				return th.execBlock(x.blocks[i])
			}
		}
		if x.els != nil {
			return th.execBlock(x.els)
		}
	case *whileStmt:
		for th.truth(x.cond) {
			f, v := th.execBlock(x.body)
			switch f {
			case flowBreak:
				return flowNormal, nil
			case flowReturn, flowHalt:
				return f, v
			}
			th.budget--
			if th.budget < 0 {
				th.failf(p, "infinite loop detected: more than %d statements in one control cycle without sync(), sleep() or a motion", maxStatementsPerCycle)
			}
		}
	case *returnStmt:
		if len(th.frames) == 1 {
			return flowHalt, nil // return from the program ends it
		}
		var v value
		if x.x != nil {
			v = th.eval(x.x)
		}
		return flowReturn, v
	case *simpleStmt:
		switch x.kind {
		case "break":
			return flowBreak, nil
		case "continue":
			return flowContinue, nil
		case "halt":
			panic(&haltSignal{})
		}
	case *defStmt:
		// functions are hoisted at compile time
	}
	return flowNormal, nil
}

type haltSignal struct{}

func (*haltSignal) Error() string { return "halt" }

func (th *thread) cur() *frame { return th.frames[len(th.frames)-1] }

func (th *thread) lookup(p pos, name string) value {
	f := th.cur()
	if !f.globals[name] {
		if v, ok := f.locals[name]; ok {
			return v
		}
	}
	if v, ok := th.globals[name]; ok {
		return v
	}
	if c, ok := constants[name]; ok {
		return c
	}
	th.failf(p, "variable '%s' is not defined", name)
	return nil
}

func (th *thread) store(scope, name string) map[string]value {
	f := th.cur()
	if len(th.frames) == 1 {
		return th.globals
	}
	switch scope {
	case "global":
		f.globals[name] = true
		return th.globals
	case "local":
		delete(f.globals, name)
		return f.locals
	}
	if f.globals[name] {
		return th.globals
	}
	return f.locals
}

func (th *thread) assign(s *assignStmt) {
	v := copyValue(th.eval(s.val))
	m := th.store(s.scope, s.name)
	if s.index == nil {
		m[s.name] = v
		return
	}
	cur, ok := m[s.name]
	if !ok {
		// element assignment reads the variable where it lives
		cur = th.lookup(s.p, s.name)
		m = th.store("", s.name)
		if _, isLocal := m[s.name]; !isLocal && len(th.frames) > 1 {
			m = th.globals
		}
	}
	i := th.index(s.index, cur)
	switch c := cur.(type) {
	case []value:
		c[i] = v
	case poseVal:
		f, ok := toFloat(v)
		if !ok {
			th.failf(s.p, "pose element must be a number, got %s", typeName(v))
		}
		c[i] = f
		m[s.name] = c
	default:
		th.failf(s.p, "'%s' is a %s, not a list", s.name, typeName(cur))
	}
}

func (th *thread) index(e expr, container value) int {
	iv := th.eval(e)
	i, ok := iv.(int64)
	if !ok {
		th.failf(e.at(), "index must be an integer, got %s", typeName(iv))
	}
	n := 0
	switch c := container.(type) {
	case []value:
		n = len(c)
	case poseVal:
		n = 6
	default:
		th.failf(e.at(), "cannot index a %s", typeName(container))
	}
	if i < 0 || int(i) >= n {
		th.failf(e.at(), "index %d out of range (length %d)", i, n)
	}
	return int(i)
}

func (th *thread) truth(e expr) bool {
	v := th.eval(e)
	b, ok := v.(bool)
	if !ok {
		th.failf(e.at(), "condition must be a boolean, got %s", typeName(v))
	}
	return b
}

func (th *thread) eval(e expr) value {
	switch x := e.(type) {
	case *litExpr:
		return x.v
	case *nameExpr:
		return th.lookup(x.p, x.name)
	case *listExpr:
		if x.pose {
			var pv poseVal
			for i, el := range x.elems {
				v := th.eval(el)
				f, ok := toFloat(v)
				if !ok {
					th.failf(el.at(), "pose element %d must be a number, got %s", i, typeName(v))
				}
				pv[i] = f
			}
			return pv
		}
		out := make([]value, len(x.elems))
		for i, el := range x.elems {
			out[i] = copyValue(th.eval(el))
		}
		return out
	case *indexExpr:
		c := th.eval(x.x)
		i := th.index(x.idx, c)
		switch cc := c.(type) {
		case []value:
			return cc[i]
		case poseVal:
			return cc[i]
		}
	case *unaryExpr:
		v := th.eval(x.x)
		switch x.op {
		case "not":
			b, ok := v.(bool)
			if !ok {
				th.failf(x.p, "'not' needs a boolean, got %s", typeName(v))
			}
			return !b
		case "-":
			switch n := v.(type) {
			case int64:
				return -n
			case float64:
				return -n
			case poseVal:
				for i := range n {
					n[i] = -n[i]
				}
				return n
			}
			th.failf(x.p, "cannot negate a %s", typeName(v))
		}
	case *binExpr:
		return th.binary(x)
	case *callExpr:
		return th.call(x)
	}
	th.failf(e.at(), "cannot evaluate expression")
	return nil
}

func (th *thread) binary(x *binExpr) value {
	switch x.op {
	case "and", "or":
		l := th.eval(x.l)
		lb, ok := l.(bool)
		if !ok {
			th.failf(x.p, "'%s' needs booleans, got %s", x.op, typeName(l))
		}
		if x.op == "and" && !lb || x.op == "or" && lb {
			return lb
		}
		r := th.eval(x.r)
		rb, ok := r.(bool)
		if !ok {
			th.failf(x.p, "'%s' needs booleans, got %s", x.op, typeName(r))
		}
		return rb
	}
	l, r := th.eval(x.l), th.eval(x.r)
	switch x.op {
	case "xor":
		lb, ok1 := l.(bool)
		rb, ok2 := r.(bool)
		if !ok1 || !ok2 {
			th.failf(x.p, "'xor' needs booleans, got %s and %s", typeName(l), typeName(r))
		}
		return lb != rb
	case "==", "!=":
		eq, ok := equal(l, r)
		if !ok {
			th.failf(x.p, "cannot compare %s with %s", typeName(l), typeName(r))
		}
		return eq == (x.op == "==")
	}
	li, lInt := l.(int64)
	ri, rInt := r.(int64)
	if lInt && rInt {
		switch x.op {
		case "+":
			return wrap32(li + ri)
		case "-":
			return wrap32(li - ri)
		case "*":
			return wrap32(li * ri)
		case "/":
			if ri == 0 {
				th.failf(x.p, "division by zero")
			}
			return li / ri
		case "%":
			if ri == 0 {
				th.failf(x.p, "modulo by zero")
			}
			return li % ri
		case "<":
			return li < ri
		case ">":
			return li > ri
		case "<=":
			return li <= ri
		case ">=":
			return li >= ri
		}
	}
	lf, lok := toFloat(l)
	rf, rok := toFloat(r)
	if lok && rok {
		var res float64
		switch x.op {
		case "+":
			res = lf + rf
		case "-":
			res = lf - rf
		case "*":
			res = lf * rf
		case "/":
			if rf == 0 {
				th.failf(x.p, "division by zero")
			}
			res = lf / rf
		case "%":
			if rf == 0 {
				th.failf(x.p, "modulo by zero")
			}
			res = math.Mod(lf, rf)
		case "<":
			return lf < rf
		case ">":
			return lf > rf
		case "<=":
			return lf <= rf
		case ">=":
			return lf >= rf
		}
		if math.IsNaN(res) || math.IsInf(res, 0) {
			th.failf(x.p, "arithmetic result is not finite")
		}
		return res
	}
	// element-wise pose arithmetic with + and - (pose + pose, pose - pose)
	lp, lP := l.(poseVal)
	rp, rP := r.(poseVal)
	if lP && rP && (x.op == "+" || x.op == "-") {
		for i := range lp {
			if x.op == "+" {
				lp[i] += rp[i]
			} else {
				lp[i] -= rp[i]
			}
		}
		return lp
	}
	th.failf(x.p, "operator '%s' is not defined for %s and %s", x.op, typeName(l), typeName(r))
	return nil
}

func wrap32(x int64) int64 { return int64(int32(x)) }

func toFloat(v value) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

func equal(a, b value) (bool, bool) {
	if af, ok := toFloat(a); ok {
		bf, ok := toFloat(b)
		return af == bf, ok
	}
	switch x := a.(type) {
	case bool:
		y, ok := b.(bool)
		return x == y, ok
	case string:
		y, ok := b.(string)
		return x == y, ok
	case poseVal:
		y, ok := b.(poseVal)
		return x == y, ok
	case []value:
		y, ok := b.([]value)
		if !ok {
			return false, false
		}
		if len(x) != len(y) {
			return false, true
		}
		for i := range x {
			eq, ok := equal(x[i], y[i])
			if !ok || !eq {
				return false, ok
			}
		}
		return true, true
	}
	return false, false
}

func copyValue(v value) value {
	if l, ok := v.([]value); ok {
		out := make([]value, len(l))
		for i, e := range l {
			out[i] = copyValue(e)
		}
		return out
	}
	return v
}

func typeName(v value) string {
	switch v.(type) {
	case int64:
		return "int"
	case float64:
		return "float"
	case bool:
		return "bool"
	case string:
		return "string"
	case poseVal:
		return "pose"
	case []value:
		return "list"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%T", v)
}

func formatValue(v value) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		return fmt.Sprintf("%g", x)
	case poseVal:
		s := make([]string, 6)
		for i, f := range x {
			s[i] = fmt.Sprintf("%g", f)
		}
		return "p[" + strings.Join(s, ", ") + "]"
	case []value:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = formatValue(e)
		}
		return "[" + strings.Join(s, ", ") + "]"
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// call evaluates a user function or a built-in.
func (th *thread) call(c *callExpr) value {
	if fn, ok := th.prog.funcs[c.name]; ok {
		return th.callUser(c, fn)
	}
	b := builtins[c.name]
	if b == nil {
		th.failf(c.p, "unknown function '%s'", c.name)
	}
	args := make([]value, len(b.params))
	for i, a := range c.args {
		args[i] = th.eval(a)
	}
	for k, name := range c.kwNames {
		for i, pn := range b.params {
			if strings.TrimSuffix(pn, "?") == name {
				args[i] = th.eval(c.kwArgs[k])
			}
		}
	}
	v, err := b.fn(th, c.p, args)
	if err != nil {
		var se *ScriptError
		if errors.As(err, &se) {
			panic(se)
		}
		th.failf(c.p, "%s: %v", c.name, err)
	}
	return v
}

const maxCallDepth = 200

func (th *thread) callUser(c *callExpr, fn *funcDef) value {
	if len(th.frames) >= maxCallDepth {
		th.failf(c.p, "call depth exceeds %d (runaway recursion in %s)", maxCallDepth, fn.name)
	}
	f := &frame{fn: fn, locals: map[string]value{}, globals: map[string]bool{}}
	given := make([]bool, len(fn.params))
	for i, a := range c.args {
		f.locals[fn.params[i]] = copyValue(th.eval(a))
		given[i] = true
	}
	for k, name := range c.kwNames {
		for i, pn := range fn.params {
			if pn == name {
				f.locals[pn] = copyValue(th.eval(c.kwArgs[k]))
				given[i] = true
			}
		}
	}
	th.frames = append(th.frames, f)
	defer func() { th.frames = th.frames[:len(th.frames)-1] }()
	for i, pn := range fn.params {
		if !given[i] {
			f.locals[pn] = copyValue(th.eval(fn.defaults[i]))
		}
	}
	fl, v := th.execBlock(fn.body)
	switch fl {
	case flowBreak, flowContinue:
		th.failf(c.p, "break/continue outside a loop in %s", fn.name)
	}
	return v
}

var constants = map[string]value{}
