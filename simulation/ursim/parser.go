package ursim

import "fmt"

// URScript syntax tree and recursive-descent parser. The accepted language
// is the subset fabcell's generated programs, the dispatcher script and
// typical hand-written programs use: def/sec programs with nested function
// definitions, parameters with defaults, global/local/plain assignment
// (also to list elements), if/elif/else, while, return, break, continue,
// halt, pass, expressions with and/or/xor/not, comparisons, + - * / %,
// unary minus, calls with keyword arguments, list and pose literals and
// indexing. thread/run/join/kill and method calls (XML-RPC handles) are
// rejected with an error naming them.

type pos struct{ line, col int }

type expr interface{ at() pos }

type (
	litExpr struct {
		p pos
		v value
	}
	listExpr struct {
		p     pos
		elems []expr
		pose  bool
	}
	nameExpr struct {
		p    pos
		name string
	}
	indexExpr struct {
		p      pos
		x, idx expr
	}
	unaryExpr struct {
		p  pos
		op string
		x  expr
	}
	binExpr struct {
		p    pos
		op   string
		l, r expr
	}
	callExpr struct {
		p       pos
		name    string
		args    []expr
		kwNames []string
		kwArgs  []expr
	}
)

func (e *litExpr) at() pos   { return e.p }
func (e *listExpr) at() pos  { return e.p }
func (e *nameExpr) at() pos  { return e.p }
func (e *indexExpr) at() pos { return e.p }
func (e *unaryExpr) at() pos { return e.p }
func (e *binExpr) at() pos   { return e.p }
func (e *callExpr) at() pos  { return e.p }

type stmt interface{ at() pos }

type (
	assignStmt struct {
		p     pos
		scope string // "", "global", "local"
		name  string
		index expr // nil for a plain variable
		val   expr
	}
	exprStmt struct {
		p pos
		x expr
	}
	ifStmt struct {
		p      pos
		conds  []expr
		blocks [][]stmt
		els    []stmt
	}
	whileStmt struct {
		p    pos
		cond expr
		body []stmt
	}
	returnStmt struct {
		p pos
		x expr
	}
	simpleStmt struct { // break, continue, halt, pass
		p    pos
		kind string
	}
	defStmt struct {
		p  pos
		fn *funcDef
	}
)

func (s *assignStmt) at() pos { return s.p }
func (s *exprStmt) at() pos   { return s.p }
func (s *ifStmt) at() pos     { return s.p }
func (s *whileStmt) at() pos  { return s.p }
func (s *returnStmt) at() pos { return s.p }
func (s *simpleStmt) at() pos { return s.p }
func (s *defStmt) at() pos    { return s.p }

type funcDef struct {
	p        pos
	name     string
	sec      bool
	params   []string
	defaults []expr // nil entries: required
	body     []stmt
}

// program is a compiled URScript program.
type program struct {
	name  string
	sec   bool
	main  *funcDef
	funcs map[string]*funcDef
	src   string
}

type parser struct {
	toks []token
	i    int
	defs []*funcDef
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *parser) fail(t token, format string, args ...any) {
	panic(errAt(t.line, t.col, format, args...))
}

func (p *parser) isOp(s string) bool {
	t := p.peek()
	return t.kind == tOp && t.text == s
}
func (p *parser) isKw(s string) bool {
	t := p.peek()
	return t.kind == tKeyword && t.text == s
}

func (p *parser) expectOp(s string) token {
	t := p.next()
	if t.kind != tOp || t.text != s {
		p.fail(t, "expected '%s', found %s", s, t)
	}
	return t
}

func (p *parser) expectName() token {
	t := p.next()
	if t.kind != tName {
		p.fail(t, "expected a name, found %s", t)
	}
	return t
}

func (p *parser) skipNewlines() {
	for p.peek().kind == tNewline {
		p.next()
	}
}

// endStmt requires the end of a statement: a newline, or a block keyword
// (end/elif/else) on the same line.
func (p *parser) endStmt() {
	t := p.peek()
	switch {
	case t.kind == tNewline:
		p.next()
	case t.kind == tKeyword && (t.text == "end" || t.text == "elif" || t.text == "else"):
	case t.kind == tEOF:
	default:
		p.fail(t, "expected end of line, found %s", t)
	}
}

// parseProgram parses a whole program text.
func parseProgram(src string) (prog *program, err error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*ScriptError)
			if !ok {
				panic(r)
			}
			prog, err = nil, se
		}
	}()
	var top []stmt
	var topDefs []*funcDef
	for {
		p.skipNewlines()
		if p.peek().kind == tEOF {
			break
		}
		s := p.statement()
		if d, ok := s.(*defStmt); ok {
			topDefs = append(topDefs, d.fn)
		} else {
			top = append(top, s)
		}
	}
	prog = &program{funcs: map[string]*funcDef{}, src: src}
	switch {
	case len(top) == 0 && len(topDefs) == 1:
		prog.main = topDefs[0]
	case len(top) == 0 && len(topDefs) == 0:
		return nil, errAt(1, 1, "empty program")
	case len(top) == 0:
		d := topDefs[1]
		return nil, errAt(d.p.line, d.p.col, "more than one top-level program (def %s and def %s); send one program at a time", topDefs[0].name, d.name)
	default:
		// bare statements: an implicit program, top-level defs are its functions
		prog.main = &funcDef{p: top[0].at(), name: "unnamed", body: top}
	}
	prog.name, prog.sec = prog.main.name, prog.main.sec
	for _, d := range p.defs {
		if d == prog.main {
			continue
		}
		if d.sec {
			return nil, errAt(d.p.line, d.p.col, "nested sec %s: secondary programs must be top level", d.name)
		}
		if prev, dup := prog.funcs[d.name]; dup {
			return nil, errAt(d.p.line, d.p.col, "function %s defined twice (first at line %d)", d.name, prev.p.line)
		}
		if builtins[d.name] != nil {
			return nil, errAt(d.p.line, d.p.col, "function %s redefines a built-in", d.name)
		}
		prog.funcs[d.name] = d
	}
	if err := prog.check(); err != nil {
		return nil, err
	}
	return prog, nil
}

func (p *parser) block() []stmt {
	var out []stmt
	for {
		p.skipNewlines()
		t := p.peek()
		if t.kind == tEOF {
			p.fail(t, "missing 'end'")
		}
		if t.kind == tKeyword && (t.text == "end" || t.text == "elif" || t.text == "else") {
			return out
		}
		out = append(out, p.statement())
	}
}

func (p *parser) colon() {
	p.expectOp(":")
}

func (p *parser) statement() stmt {
	t := p.peek()
	ps := pos{t.line, t.col}
	if t.kind == tKeyword {
		switch t.text {
		case "def", "sec":
			p.next()
			name := p.expectName()
			fn := &funcDef{p: ps, name: name.text, sec: t.text == "sec"}
			p.expectOp("(")
			for !p.isOp(")") {
				pn := p.expectName()
				fn.params = append(fn.params, pn.text)
				var def expr
				if p.isOp("=") {
					p.next()
					def = p.expr()
				} else if len(fn.defaults) > 0 && fn.defaults[len(fn.defaults)-1] != nil {
					p.fail(pn, "parameter %s without default follows one with a default", pn.text)
				}
				fn.defaults = append(fn.defaults, def)
				if !p.isOp(")") {
					p.expectOp(",")
				}
			}
			p.next()
			p.colon()
			fn.body = p.block()
			p.expectKw("end")
			p.endStmt()
			p.defs = append(p.defs, fn)
			return &defStmt{p: ps, fn: fn}
		case "if":
			p.next()
			s := &ifStmt{p: ps}
			s.conds = append(s.conds, p.expr())
			p.colon()
			s.blocks = append(s.blocks, p.block())
			for p.isKw("elif") {
				p.next()
				s.conds = append(s.conds, p.expr())
				p.colon()
				s.blocks = append(s.blocks, p.block())
			}
			if p.isKw("else") {
				p.next()
				p.colon()
				s.els = p.block()
			}
			p.expectKw("end")
			p.endStmt()
			return s
		case "while":
			p.next()
			s := &whileStmt{p: ps, cond: p.expr()}
			p.colon()
			s.body = p.block()
			p.expectKw("end")
			p.endStmt()
			return s
		case "return":
			p.next()
			s := &returnStmt{p: ps}
			if k := p.peek(); k.kind != tNewline && !(k.kind == tKeyword && k.text == "end") && k.kind != tEOF {
				s.x = p.expr()
			}
			p.endStmt()
			return s
		case "break", "continue", "halt", "pass":
			p.next()
			p.endStmt()
			return &simpleStmt{p: ps, kind: t.text}
		case "global", "local":
			p.next()
			name := p.expectName()
			s := &assignStmt{p: ps, scope: t.text, name: name.text}
			p.expectOp("=")
			s.val = p.expr()
			p.endStmt()
			return s
		case "thread", "run", "join", "kill", "for":
			p.fail(t, "'%s' is not supported by the fabcell controller simulator", t.text)
		}
	}
	// assignment or expression statement
	if t.kind == tName {
		save := p.i
		p.next()
		var idx expr
		if p.isOp("[") {
			p.next()
			idx = p.expr()
			p.expectOp("]")
		}
		if p.isOp("=") {
			p.next()
			s := &assignStmt{p: ps, name: t.text, index: idx, val: p.expr()}
			p.endStmt()
			return s
		}
		p.i = save
	}
	x := p.expr()
	if _, ok := x.(*callExpr); !ok {
		p.fail(t, "statement has no effect (expected an assignment or a function call)")
	}
	p.endStmt()
	return &exprStmt{p: ps, x: x}
}

func (p *parser) expectKw(s string) {
	t := p.next()
	if t.kind != tKeyword || t.text != s {
		p.fail(t, "expected '%s', found %s", s, t)
	}
}

// Expression grammar, lowest precedence first.
func (p *parser) expr() expr { return p.orExpr() }

func (p *parser) orExpr() expr {
	l := p.andExpr()
	for p.isKw("or") || p.isKw("xor") {
		t := p.next()
		l = &binExpr{p: pos{t.line, t.col}, op: t.text, l: l, r: p.andExpr()}
	}
	return l
}

func (p *parser) andExpr() expr {
	l := p.notExpr()
	for p.isKw("and") {
		t := p.next()
		l = &binExpr{p: pos{t.line, t.col}, op: "and", l: l, r: p.notExpr()}
	}
	return l
}

func (p *parser) notExpr() expr {
	if p.isKw("not") {
		t := p.next()
		return &unaryExpr{p: pos{t.line, t.col}, op: "not", x: p.notExpr()}
	}
	return p.cmpExpr()
}

func (p *parser) cmpExpr() expr {
	l := p.addExpr()
	for {
		t := p.peek()
		if t.kind != tOp {
			return l
		}
		switch t.text {
		case "==", "!=", "<", ">", "<=", ">=":
			p.next()
			l = &binExpr{p: pos{t.line, t.col}, op: t.text, l: l, r: p.addExpr()}
		default:
			return l
		}
	}
}

func (p *parser) addExpr() expr {
	l := p.mulExpr()
	for p.isOp("+") || p.isOp("-") {
		t := p.next()
		l = &binExpr{p: pos{t.line, t.col}, op: t.text, l: l, r: p.mulExpr()}
	}
	return l
}

func (p *parser) mulExpr() expr {
	l := p.unary()
	for p.isOp("*") || p.isOp("/") || p.isOp("%") {
		t := p.next()
		l = &binExpr{p: pos{t.line, t.col}, op: t.text, l: l, r: p.unary()}
	}
	return l
}

func (p *parser) unary() expr {
	if p.isOp("-") || p.isOp("+") {
		t := p.next()
		x := p.unary()
		if t.text == "+" {
			return x
		}
		return &unaryExpr{p: pos{t.line, t.col}, op: "-", x: x}
	}
	return p.postfix()
}

func (p *parser) postfix() expr {
	x := p.primary()
	for {
		switch {
		case p.isOp("["):
			t := p.next()
			idx := p.expr()
			p.expectOp("]")
			x = &indexExpr{p: pos{t.line, t.col}, x: x, idx: idx}
		case p.isOp("."):
			t := p.peek()
			p.fail(t, "method calls (e.g. XML-RPC handles) are not supported by the fabcell controller simulator")
		default:
			return x
		}
	}
}

func (p *parser) primary() expr {
	t := p.next()
	ps := pos{t.line, t.col}
	switch t.kind {
	case tInt:
		return &litExpr{p: ps, v: int64(t.i)}
	case tFloat:
		return &litExpr{p: ps, v: t.f}
	case tString:
		return &litExpr{p: ps, v: t.text}
	case tKeyword:
		switch t.text {
		case "True":
			return &litExpr{p: ps, v: true}
		case "False":
			return &litExpr{p: ps, v: false}
		}
		p.fail(t, "unexpected %s in expression", t)
	case tName:
		if t.text == "p" && p.isOp("[") {
			p.next()
			l := &listExpr{p: ps, pose: true, elems: p.exprList("]")}
			if len(l.elems) != 6 {
				p.fail(t, "pose literal needs 6 numbers, has %d", len(l.elems))
			}
			return l
		}
		if p.isOp("(") {
			p.next()
			c := &callExpr{p: ps, name: t.text}
			for !p.isOp(")") {
				if a := p.peek(); a.kind == tName && p.toks[p.i+1].kind == tOp && p.toks[p.i+1].text == "=" {
					p.next()
					p.next()
					for _, k := range c.kwNames {
						if k == a.text {
							p.fail(a, "keyword argument %s given twice", a.text)
						}
					}
					c.kwNames = append(c.kwNames, a.text)
					c.kwArgs = append(c.kwArgs, p.expr())
				} else {
					if len(c.kwNames) > 0 {
						p.fail(a, "positional argument after keyword argument")
					}
					c.args = append(c.args, p.expr())
				}
				if !p.isOp(")") {
					p.expectOp(",")
				}
			}
			p.next()
			return c
		}
		return &nameExpr{p: ps, name: t.text}
	case tOp:
		switch t.text {
		case "(":
			x := p.expr()
			p.expectOp(")")
			return x
		case "[":
			return &listExpr{p: ps, elems: p.exprList("]")}
		}
	}
	p.fail(t, "unexpected %s in expression", t)
	return nil
}

func (p *parser) exprList(closer string) []expr {
	var out []expr
	for !p.isOp(closer) {
		out = append(out, p.expr())
		if !p.isOp(closer) {
			p.expectOp(",")
		}
	}
	p.next()
	return out
}

// check resolves every call to a user function or a supported built-in
// and checks argument counts where they are known at compile time.
func (prog *program) check() error {
	var err error
	var walkE func(e expr)
	var walkS func(ss []stmt)
	walkE = func(e expr) {
		if err != nil || e == nil {
			return
		}
		switch x := e.(type) {
		case *listExpr:
			for _, el := range x.elems {
				walkE(el)
			}
		case *indexExpr:
			walkE(x.x)
			walkE(x.idx)
		case *unaryExpr:
			walkE(x.x)
		case *binExpr:
			walkE(x.l)
			walkE(x.r)
		case *callExpr:
			if fn, ok := prog.funcs[x.name]; ok {
				if e := checkArgs(x, fn.params, fn.defaults); e != nil {
					err = e
					return
				}
			} else if b, ok := builtins[x.name]; ok {
				if e := checkArgs(x, b.params, nil); e != nil {
					err = e
					return
				}
			} else if x.name == prog.main.name {
				err = errAt(x.p.line, x.p.col, "program %s cannot call itself", x.name)
				return
			} else {
				err = errAt(x.p.line, x.p.col, "unknown function '%s' (not defined in the program and not a URScript function the fabcell controller simulator supports)", x.name)
				return
			}
			for _, a := range x.args {
				walkE(a)
			}
			for _, a := range x.kwArgs {
				walkE(a)
			}
		}
	}
	walkS = func(ss []stmt) {
		for _, s := range ss {
			if err != nil {
				return
			}
			switch x := s.(type) {
			case *assignStmt:
				walkE(x.index)
				walkE(x.val)
			case *exprStmt:
				walkE(x.x)
			case *ifStmt:
				for i, c := range x.conds {
					walkE(c)
					walkS(x.blocks[i])
				}
				walkS(x.els)
			case *whileStmt:
				walkE(x.cond)
				walkS(x.body)
			case *returnStmt:
				walkE(x.x)
			case *defStmt:
				for _, d := range x.fn.defaults {
					walkE(d)
				}
				walkS(x.fn.body)
			}
		}
	}
	walkS(prog.main.body)
	for _, f := range prog.funcs {
		if !containsDef(prog.main.body, f) {
			walkS(f.body) // top-level helper of an implicit program
		}
	}
	return err
}

func containsDef(ss []stmt, f *funcDef) bool {
	for _, s := range ss {
		switch x := s.(type) {
		case *defStmt:
			if x.fn == f || containsDef(x.fn.body, f) {
				return true
			}
		case *ifStmt:
			for _, b := range x.blocks {
				if containsDef(b, f) {
					return true
				}
			}
			if containsDef(x.els, f) {
				return true
			}
		case *whileStmt:
			if containsDef(x.body, f) {
				return true
			}
		}
	}
	return false
}

// checkArgs verifies positional and keyword arguments against a parameter
// list. defaults == nil means "builtin": params with a '?' suffix are
// optional.
func checkArgs(c *callExpr, params []string, defaults []expr) error {
	names := make([]string, len(params))
	required := 0
	for i, pn := range params {
		opt := false
		if defaults != nil {
			opt = defaults[i] != nil
		} else if len(pn) > 0 && pn[len(pn)-1] == '?' {
			pn, opt = pn[:len(pn)-1], true
		}
		names[i] = pn
		if !opt {
			required = i + 1
		}
	}
	if len(c.args) > len(params) {
		return errAt(c.p.line, c.p.col, "%s takes at most %d arguments, got %d", c.name, len(params), len(c.args))
	}
	given := make([]bool, len(params))
	for i := range c.args {
		given[i] = true
	}
	for _, k := range c.kwNames {
		found := false
		for i, n := range names {
			if n == k {
				if given[i] {
					return errAt(c.p.line, c.p.col, "%s: argument %s given twice", c.name, k)
				}
				given[i], found = true, true
			}
		}
		if !found {
			return errAt(c.p.line, c.p.col, "%s has no parameter named %s", c.name, k)
		}
	}
	for i := 0; i < required; i++ {
		if !given[i] {
			return errAt(c.p.line, c.p.col, "%s: missing argument %s", c.name, names[i])
		}
	}
	return nil
}

func (p pos) String() string { return fmt.Sprintf("line %d col %d", p.line, p.col) }
