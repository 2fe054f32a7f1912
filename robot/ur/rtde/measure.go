package rtde

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// JitterReport summarises a receive-loop measurement: the local arrival
// period of output packages against the nominal 1/frequency, and packages
// the controller skipped (gaps in its timestamp field).
type JitterReport struct {
	FrequencyHz float64
	Duration    time.Duration
	Packages    int
	// |arrival period − nominal period| percentiles and maximum.
	JitterP50, JitterP99, JitterMax time.Duration
	// Mean arrival period.
	MeanPeriod time.Duration
	// Dropped counts packages missing from the controller timestamps
	// (Δtimestamp larger than 1.5 nominal periods).
	Dropped int
	// SubscriberDrops: frames the measuring subscriber missed locally.
	SubscriberDrops uint64
}

func (r JitterReport) String() string {
	return fmt.Sprintf("%d packages at %g Hz over %v: period mean %v, jitter p50 %v p99 %v max %v, dropped %d (controller gaps), %d (local subscriber)",
		r.Packages, r.FrequencyHz, r.Duration.Round(time.Millisecond), r.MeanPeriod, r.JitterP50, r.JitterP99, r.JitterMax, r.Dropped, r.SubscriberDrops)
}

// MeasureJitter connects to addr, streams "timestamp" at frequencyHz for
// duration (or until ctx ends) and reports the arrival jitter and the
// dropped packages.
func MeasureJitter(ctx context.Context, addr string, frequencyHz float64, duration time.Duration) (JitterReport, error) {
	c, err := Dial(ctx, addr, Options{FrequencyHz: frequencyHz, Outputs: []string{"timestamp"}, NoReconnect: true})
	if err != nil {
		return JitterReport{}, err
	}
	defer c.Close()
	sub := c.Subscribe(4096)
	defer sub.Close()
	if err := c.Start(ctx); err != nil {
		return JitterReport{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var arrivals []time.Time
	var stamps []float64
	for {
		select {
		case <-ctx.Done():
			return analyse(frequencyHz, arrivals, stamps, sub.Dropped())
		case f, ok := <-sub.C():
			if !ok {
				return JitterReport{}, errors.New("rtde: connection closed during the measurement")
			}
			ts, _ := f.Double("timestamp")
			arrivals = append(arrivals, f.Received)
			stamps = append(stamps, ts)
		}
	}
}

func analyse(freq float64, arrivals []time.Time, stamps []float64, subDrops uint64) (JitterReport, error) {
	r := JitterReport{FrequencyHz: freq, Packages: len(arrivals), SubscriberDrops: subDrops}
	if len(arrivals) < 2 {
		return r, fmt.Errorf("rtde: only %d packages received", len(arrivals))
	}
	nominal := 1 / freq
	jit := make([]float64, 0, len(arrivals)-1)
	for i := 1; i < len(arrivals); i++ {
		p := arrivals[i].Sub(arrivals[i-1]).Seconds()
		jit = append(jit, math.Abs(p-nominal))
		if gap := stamps[i] - stamps[i-1]; gap > 1.5*nominal {
			r.Dropped += int(math.Round(gap/nominal)) - 1
		}
	}
	sort.Float64s(jit)
	q := func(p float64) time.Duration {
		return time.Duration(jit[int(p*float64(len(jit)-1))] * float64(time.Second))
	}
	r.JitterP50, r.JitterP99, r.JitterMax = q(0.5), q(0.99), q(1)
	r.Duration = arrivals[len(arrivals)-1].Sub(arrivals[0])
	r.MeanPeriod = r.Duration / time.Duration(len(arrivals)-1)
	return r, nil
}
