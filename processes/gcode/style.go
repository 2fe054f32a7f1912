package gcode

import (
	"math"
)

// retractStyle is how the input retracts on travels, learned from its own
// connectors (the non-extrusion moves between two extrusions): the most
// common values over the travels that retracted.
type retractStyle struct {
	ok            bool    // there is a retraction to re-insert
	firmware      bool    // G10/G11
	retractMM     float64 // total filament pulled back (E-only part + wipe)
	wipeFrac      float64 // share of retractMM fed during the wipe
	wipeLenMM     float64
	wipeFeed      float64
	wipeMarks     bool // ;WIPE_START / ;WIPE_END around wipes
	retractFeed   float64
	unretractMM   float64 // equals retractMM: extras are accounted separately
	unretractFeed float64
	hopMM         float64
	zFeed         float64
	travelFeed    float64
	g0            bool
	minTravelMM   float64 // shortest travel that retracts
}

// hist is a small histogram of values rounded to 1e-4.
type hist map[int64]int

func (h hist) add(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if len(h) > 4096 {
		return
	}
	h[int64(math.Round(v*1e4))]++
}

// mode returns the most common value (ties: the smaller), ok false if empty.
func (h hist) mode() (float64, bool) {
	best, bestN := int64(0), 0
	for k, n := range h {
		if n > bestN || n == bestN && k < best {
			best, bestN = k, n
		}
	}
	return float64(best) / 1e4, bestN > 0
}

type styleStats struct {
	retract, wipeFrac, wipeLen, wipeFeed, retractFeed, unretractFeed hist
	hop, zFeed, travelFeed                                           hist
	g0, g1, firmware, wipeMarks                                      int
	minRetracted                                                     float64
	retracting                                                       int
	cur                                                              retractStyle
}

func newHist() hist { return hist{} }

func (s *styleStats) init() {
	s.retract, s.wipeFrac, s.wipeLen, s.wipeFeed = newHist(), newHist(), newHist(), newHist()
	s.retractFeed, s.unretractFeed, s.hop, s.zFeed, s.travelFeed = newHist(), newHist(), newHist(), newHist(), newHist()
	s.minRetracted = math.Inf(1)
}

// connector accumulates one connector's moves.
type connector struct {
	negE, wipeE, wipeLen, posE float64
	hop                        float64
	from, to                   [2]float64
	haveFrom                   bool
	travel                     bool
	firmware                   bool
	wipeMarks                  bool
}

// observe learns from the connectors of a chunk: the lead-in (from the
// chunk start to the first extrusion) and every gap between extrusions.
func (c *compiler) observe(items []item) {
	s := &c.style
	if s.retract == nil {
		s.init()
	}
	var cn connector
	local := hist{} // this chunk's travel feeds (first layers often travel slower)
	z := c.job.chunk.z
	start := c.emit.st.orig
	cn.from = [2]float64{start[0], start[1]}
	cn.haveFrom = true
	for i := range items {
		it := &items[i]
		if it.cls == cWipeMark {
			cn.wipeMarks = true
			continue
		}
		if it.mi < 0 {
			continue
		}
		mv := &c.job.moves[it.mi]
		if it.cls == cExtrude {
			if cn.haveFrom {
				cn.to = [2]float64{mv.From[0], mv.From[1]}
				c.learn(&cn)
			}
			cn = connector{from: [2]float64{mv.To[0], mv.To[1]}, haveFrom: true}
			continue
		}
		switch {
		case mv.Firmware:
			cn.firmware = true
			if mv.DE < 0 {
				cn.negE -= mv.DE
				s.retractFeed.add(mv.FeedMM)
			}
		case mv.HasXY() && mv.DE < 0:
			cn.negE -= mv.DE
			cn.wipeE -= mv.DE
			cn.wipeLen += mv.XYLength()
			s.wipeFeed.add(mv.FeedMM)
		case mv.HasXY():
			cn.travel = true
			s.travelFeed.add(mv.FeedMM)
			local.add(mv.FeedMM)
			if mv.Rapid {
				s.g0++
			} else {
				s.g1++
			}
		case mv.DE < 0:
			cn.negE -= mv.DE
			s.retractFeed.add(mv.FeedMM)
		case mv.DE > 0:
			cn.posE += mv.DE
			s.unretractFeed.add(mv.FeedMM)
		case mv.To[2] != mv.From[2]:
			s.zFeed.add(mv.FeedMM)
			if c.job.chunk.haveZ {
				cn.hop = max(cn.hop, mv.To[2]-z)
			}
		}
	}
	c.refreshStyle()
	if f, ok := local.mode(); ok && f > 0 {
		s.cur.travelFeed = f
	}
}

func (c *compiler) learn(cn *connector) {
	s := &c.style
	if cn.negE <= 0 || !cn.travel && !cn.firmware {
		return
	}
	d := math.Hypot(cn.to[0]-cn.from[0], cn.to[1]-cn.from[1])
	s.retracting++
	s.retract.add(cn.negE)
	s.wipeFrac.add(cn.wipeE / cn.negE)
	if cn.wipeLen > 0 {
		s.wipeLen.add(cn.wipeLen)
	}
	if cn.hop > 1e-6 {
		s.hop.add(cn.hop)
	} else {
		s.hop.add(0)
	}
	if cn.firmware {
		s.firmware++
	}
	if cn.wipeMarks {
		s.wipeMarks++
	}
	if d > 0.05 {
		s.minRetracted = min(s.minRetracted, d)
	}
}

func (c *compiler) refreshStyle() {
	s := &c.style
	o := c.opt
	st := retractStyle{}
	if f, ok := s.travelFeed.mode(); ok {
		st.travelFeed = f
	} else {
		st.travelFeed = 9000
	}
	st.g0 = s.g0 > s.g1
	if s.retracting > 0 {
		st.ok = true
		st.firmware = s.firmware*2 > s.retracting
		st.retractMM, _ = s.retract.mode()
		st.wipeFrac, _ = s.wipeFrac.mode()
		st.wipeLenMM, _ = s.wipeLen.mode()
		if st.wipeFrac <= 0 || st.wipeLenMM <= 0 {
			st.wipeFrac, st.wipeLenMM = 0, 0
		}
		st.wipeFeed, _ = s.wipeFeed.mode()
		st.wipeMarks = s.wipeMarks*2 > s.retracting
		st.hopMM, _ = s.hop.mode()
		st.minTravelMM = s.minRetracted
		if math.IsInf(st.minTravelMM, 1) {
			st.minTravelMM = o.RetractMinTravelMM
		}
	} else if o.RetractMM > 0 {
		st.ok = true
		st.retractMM = o.RetractMM
		st.hopMM = o.ZHopMM
		st.minTravelMM = o.RetractMinTravelMM
	}
	st.unretractMM = st.retractMM
	st.retractFeed = 2100
	if f, ok := s.retractFeed.mode(); ok && f > 0 {
		st.retractFeed = f
	}
	st.unretractFeed = st.retractFeed
	if f, ok := s.unretractFeed.mode(); ok && f > 0 {
		st.unretractFeed = f
	}
	st.zFeed = 600
	if f, ok := s.zFeed.mode(); ok && f > 0 {
		st.zFeed = f
	}
	if st.wipeFeed <= 0 {
		st.wipeFeed = st.travelFeed
	}
	if st.retractMM <= 0 {
		st.ok = false
	}
	s.cur = st
}
