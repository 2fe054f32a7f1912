package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress draws a single-line progress bar on a terminal and stays quiet
// when the output is not a TTY (CI logs, pipes).
type progress struct {
	mu     sync.Mutex
	w      io.Writer
	tty    bool
	label  string
	start  time.Time
	last   time.Time
	extra  string
	drawn  bool
	minGap time.Duration
}

func newProgress(label string) *progress {
	f := os.Stderr
	return &progress{w: f, tty: term.IsTerminal(int(f.Fd())), label: label, start: time.Now(), minGap: 100 * time.Millisecond}
}

// SetExtra sets a short status shown after the bar (e.g. "lead 12").
func (p *progress) SetExtra(s string) {
	p.mu.Lock()
	p.extra = s
	p.mu.Unlock()
}

// Update redraws the bar (rate-limited) with done of total units.
func (p *progress) Update(done, total int) {
	if p == nil || !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < p.minGap && done < total {
		return
	}
	p.last = now
	frac := 0.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	const width = 30
	n := int(frac * width)
	if n > width {
		n = width
	}
	el := now.Sub(p.start)
	eta := "--"
	if frac > 0.001 && frac < 1 {
		eta = (time.Duration(float64(el) * (1 - frac) / frac)).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %5.1f%% %s eta %s %s\x1b[K", p.label,
		strings.Repeat("=", n), strings.Repeat(" ", width-n), done, total, 100*frac,
		el.Round(time.Second), eta, p.extra)
	p.drawn = true
}

// Done ends the bar line.
func (p *progress) Done() {
	if p == nil || !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
