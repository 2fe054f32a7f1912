package mes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"fabcell/config"
	"fabcell/controller"
	"fabcell/controller/ops"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// SparkplugTopic returns spBv1.0/<group>/<type>/<node> (Sparkplug 3.0 §4.1).
func SparkplugTopic(group, msgType, node string) string {
	return "spBv1.0/" + group + "/" + msgType + "/" + node
}

// Sparkplug metric names of the fabcell edge node.
const (
	SpMetricBdSeq   = "bdSeq"
	SpMetricRebirth = "Node Control/Rebirth"
)

// sparkplugNode publishes the cell as a Sparkplug B edge node (node id =
// cell name) on its own MQTT connection, whose Will is the NDEATH:
// NBIRTH (every metric, seq 0, with bdSeq and Node Control/Rebirth) after
// each connection (and after the primary host, if configured, is online),
// NDATA with changed metrics (seq +1, wrapping 255→0), a new NBIRTH on an
// NCMD Rebirth=true or when a new metric appears, and an explicit NDEATH
// on shutdown. bdSeq increases with every MQTT CONNECT (Sparkplug 3.0
// §6.4.2). NBIRTH/NDATA are QoS 0, not retained; the NDEATH Will is QoS 1.
type sparkplugNode struct {
	srv    *Server
	cfg    config.MQTT
	group  string
	node   string
	host   string
	dryRun bool
	log    *slog.Logger
	period time.Duration

	mu     sync.Mutex
	tel    map[string]float64
	notify chan struct{}

	ctx  context.Context
	stop context.CancelFunc
	done chan struct{}
}

func newSparkplugNode(s *Server, cell config.Cell) (*sparkplugNode, error) {
	if strings.ContainsAny(cell.Name, "+/#") {
		return nil, fmt.Errorf("sparkplug: node id %q contains + / #", cell.Name)
	}
	return &sparkplugNode{
		srv: s, cfg: cell.MQTT, group: cell.MQTT.SparkplugGroup, node: cell.Name, host: cell.MQTT.SparkplugHostID,
		dryRun: s.opts.DryRun, log: s.log.With("sparkplug", cell.MQTT.SparkplugGroup+"/"+cell.Name),
		period: time.Duration(float64(time.Second) / cell.MQTT.TelemetryHz),
		tel:    map[string]float64{}, notify: make(chan struct{}, 1), done: make(chan struct{}),
	}, nil
}

func (n *sparkplugNode) start() {
	n.ctx, n.stop = context.WithCancel(context.Background())
	go n.run()
}

func (n *sparkplugNode) close(ctx context.Context) {
	n.stop()
	select {
	case <-n.done:
	case <-ctx.Done():
	}
}

func (n *sparkplugNode) poke() {
	select {
	case n.notify <- struct{}{}:
	default:
	}
}

func (n *sparkplugNode) jobEvent(e controller.Event) {
	if e.Kind == "state" {
		n.poke()
	}
}

func (n *sparkplugNode) telemetry(t *Telemetry) {
	n.mu.Lock()
	for k, v := range t.Values {
		n.tel[k] = v
	}
	n.mu.Unlock()
	n.poke()
}

// metrics returns the node's current metrics, by name.
func (n *sparkplugNode) metrics() map[string]SpMetric {
	jobs := n.srv.opts.Jobs.Jobs()
	out := map[string]SpMetric{
		"Properties/Cell":    {Name: "Properties/Cell", DataType: SpString, Value: n.node},
		"Properties/Dry Run": {Name: "Properties/Dry Run", DataType: SpBoolean, Value: n.dryRun},
	}
	counts := map[controller.State]int64{}
	// The current job is the active one (planning, running, paused), else
	// the most recently submitted.
	var cur *controller.JobInfo
	for i := range jobs {
		counts[jobs[i].State]++
		if ops.Active(jobs[i].State) || cur == nil || !ops.Active(cur.State) {
			cur = &jobs[i]
		}
	}
	for _, st := range []controller.State{controller.Queued, controller.Completed, controller.Aborted, controller.Failed} {
		name := "Jobs/" + strings.ToUpper(string(st[:1])) + string(st[1:])
		out[name] = SpMetric{Name: name, DataType: SpInt64, Value: counts[st]}
	}
	id, state, reason, progress, steps, lead := "", "idle", "", 0.0, int64(0), int64(0)
	if cur != nil {
		id, state, reason, progress, steps, lead = cur.ID, string(cur.State), cur.Reason, cur.Progress, int64(cur.StepsDone), int64(cur.PlannerLead)
	}
	for _, m := range []SpMetric{
		{Name: "Job/ID", DataType: SpString, Value: id},
		{Name: "Job/State", DataType: SpString, Value: state},
		{Name: "Job/Reason", DataType: SpString, Value: reason},
		{Name: "Job/Progress", DataType: SpDouble, Value: progress},
		{Name: "Job/Steps Done", DataType: SpInt64, Value: steps},
		{Name: "Job/Planner Lead", DataType: SpInt64, Value: lead},
	} {
		out[m.Name] = m
	}
	n.mu.Lock()
	for k, v := range n.tel {
		name := "Telemetry/" + k
		out[name] = SpMetric{Name: name, DataType: SpDouble, Value: v}
	}
	n.mu.Unlock()
	return out
}

var errHostOffline = errors.New("sparkplug primary host went offline")

func (n *sparkplugNode) run() {
	defer close(n.done)
	var bdSeq uint64
	backoff := time.Second
	maxBackoff := time.Duration(n.cfg.ReconnectMaxS * float64(time.Second))
	for n.ctx.Err() == nil {
		connected, err := n.session(bdSeq)
		bdSeq = (bdSeq + 1) % 256
		if n.ctx.Err() != nil {
			return
		}
		if connected {
			backoff = time.Second
		}
		n.log.Warn("sparkplug session ended; reconnecting", "err", err, "in", backoff)
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func (n *sparkplugNode) death(bdSeq uint64) []byte {
	b, _ := MarshalSparkplug(SpPayload{Timestamp: uint64(time.Now().UnixMilli()), Metrics: []SpMetric{{Name: SpMetricBdSeq, DataType: SpUInt64, Value: bdSeq}}})
	return b
}

// session runs one MQTT connection; connected reports whether it got that
// far.
func (n *sparkplugNode) session(bdSeq uint64) (connected bool, err error) {
	opts, err := ClientOptions(n.cfg, ClientID(n.cfg, n.node, "-spb"))
	if err != nil {
		return false, err
	}
	lost := make(chan error, 1)
	msgs := make(chan paho.Message, 16)
	opts.SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetBinaryWill(SparkplugTopic(n.group, "NDEATH", n.node), n.death(bdSeq), 1, false).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			select {
			case lost <- err:
			default:
			}
		}).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			select {
			case msgs <- m:
			default:
			}
		})
	c := paho.NewClient(opts)
	if err := wait(n.ctx, c.Connect()); err != nil {
		c.Disconnect(0)
		return false, err
	}
	defer c.Disconnect(250)
	ncmd := SparkplugTopic(n.group, "NCMD", n.node)
	stateTopic := "spBv1.0/STATE/" + n.host
	filters := map[string]byte{ncmd: 1}
	if n.host != "" {
		filters[stateTopic] = 1
	}
	if err := wait(n.ctx, c.SubscribeMultiple(filters, nil)); err != nil {
		return true, fmt.Errorf("subscribe: %w", err)
	}
	var (
		seq   uint64
		born  bool
		known map[string]SpMetric
	)
	birth := func() error {
		cur := n.metrics()
		cur[SpMetricBdSeq] = SpMetric{Name: SpMetricBdSeq, DataType: SpUInt64, Value: bdSeq}
		cur[SpMetricRebirth] = SpMetric{Name: SpMetricRebirth, DataType: SpBoolean, Value: false}
		data, err := MarshalSparkplug(SpPayload{Timestamp: uint64(time.Now().UnixMilli()), Metrics: sortedMetrics(cur), Seq: 0, HasSeq: true})
		if err != nil {
			return err
		}
		seq, born, known = 0, true, cur
		c.Publish(SparkplugTopic(n.group, "NBIRTH", n.node), 0, false, data)
		return nil
	}
	if n.host == "" {
		if err := birth(); err != nil {
			return true, err
		}
	}
	tick := time.NewTicker(n.period)
	defer tick.Stop()
	for {
		select {
		case <-n.ctx.Done():
			// A clean DISCONNECT suppresses the Will: send the NDEATH.
			tok := c.Publish(SparkplugTopic(n.group, "NDEATH", n.node), 1, false, n.death(bdSeq))
			tok.WaitTimeout(2 * time.Second)
			return true, nil
		case err := <-lost:
			return true, err
		case m := <-msgs:
			switch m.Topic() {
			case ncmd:
				if m.Retained() {
					// Sparkplug 3.0: NCMD is published with retain=false; a
					// retained one would ask for a rebirth on every reconnect.
					n.log.Warn("retained NCMD ignored (Sparkplug NCMD must not be retained)", "topic", ncmd)
					continue
				}
				p, err := UnmarshalSparkplug(m.Payload())
				if err != nil {
					n.log.Warn("NCMD refused", "err", err)
					continue
				}
				for _, mt := range p.Metrics {
					if mt.Name == SpMetricRebirth && mt.Value == true && born {
						if err := birth(); err != nil {
							return true, err
						}
					}
				}
			case stateTopic:
				online := hostOnline(m.Payload())
				if online && !born {
					if err := birth(); err != nil {
						return true, err
					}
				}
				if !online && born {
					tok := c.Publish(SparkplugTopic(n.group, "NDEATH", n.node), 1, false, n.death(bdSeq))
					tok.WaitTimeout(2 * time.Second)
					return true, errHostOffline
				}
			}
		case <-tick.C:
			if !born {
				continue
			}
			cur := n.metrics()
			var changed []SpMetric
			rebirth := false
			for name, m := range cur {
				old, ok := known[name]
				if !ok {
					rebirth = true
					break
				}
				if old.Value != m.Value {
					changed = append(changed, m)
				}
			}
			if rebirth {
				if err := birth(); err != nil {
					return true, err
				}
				continue
			}
			if len(changed) == 0 {
				continue
			}
			sort.Slice(changed, func(i, j int) bool { return changed[i].Name < changed[j].Name })
			seq = (seq + 1) % 256
			data, err := MarshalSparkplug(SpPayload{Timestamp: uint64(time.Now().UnixMilli()), Metrics: changed, Seq: seq, HasSeq: true})
			if err != nil {
				return true, err
			}
			for _, m := range changed {
				known[m.Name] = m
			}
			c.Publish(SparkplugTopic(n.group, "NDATA", n.node), 0, false, data)
		case <-n.notify:
			// state changes are published at the next tick
		}
	}
}

// hostOnline reads a Sparkplug STATE payload: 3.0 JSON {"online":bool,...}
// or the 2.x text ONLINE/OFFLINE.
func hostOnline(p []byte) bool {
	var v struct {
		Online bool `json:"online"`
	}
	if json.Unmarshal(p, &v) == nil {
		return v.Online
	}
	return strings.EqualFold(strings.TrimSpace(string(p)), "ONLINE")
}

func sortedMetrics(m map[string]SpMetric) []SpMetric {
	out := make([]SpMetric, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
