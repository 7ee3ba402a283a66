package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// Report is the outcome of a run.
type Report struct {
	Addr        string `json:"addr"`
	Requested   int    `json:"requested"`      // messages asked for
	Attempted   int    `json:"attempted"`      // messages tried (less than requested when cancelled)
	Accepted    int    `json:"accepted"`       // final reply 250
	Rejected    int    `json:"rejected"`       // an SMTP error reply ended the message
	NoReply     int    `json:"no_reply"`       // connection failed, closed or timed out
	GTUBE       int    `json:"gtube"`          // messages carrying the GTUBE string
	GTUBEReject int    `json:"gtube_rejected"` // of those, refused with a 5xx reply (expected)
	Unexpected  int    `json:"unexpected"`     // failures other than GTUBE rejects (and, with -rejects-expected, 5xx replies)
	// Failures counts the messages not accepted by reply code; "none" is
	// for no reply at all. Examples keeps one reply text per code.
	Failures    map[string]int    `json:"failures,omitempty"`
	Examples    map[string]string `json:"examples,omitempty"`
	Connections int               `json:"connections"`
	Concurrency int               `json:"concurrency"`
	BodySize    int               `json:"body_size"`
	// Replayed is how many distinct messages -replay sent round-robin;
	// BodySize is then their average size, header included.
	Replayed   int     `json:"replayed,omitempty"`
	Bytes      int64   `json:"bytes"` // message bytes transferred (header and body, before dot-stuffing)
	ElapsedSec float64 `json:"elapsed_sec"`
	// CPUSec is the CPU time smtpload itself used, so a reader can tell
	// how much of the machine the generator took from what it measures.
	CPUSec float64 `json:"cpu_sec"`
	// Rate is messages answered (accepted or rejected) per second.
	Rate    float64 `json:"msgs_per_sec"`
	Latency Latency `json:"latency_ms"`
}

// Latency is per message, from MAIL to the reply that ended the message,
// over the messages that got a reply; in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// noReplyKey is the failure key for messages that got no reply.
const noReplyKey = "none"

func newReport(cfg Config, elapsed, cpu time.Duration, results [][]outcome, conns []int) Report {
	r := Report{
		Addr:        cfg.Addr,
		Requested:   cfg.Messages,
		Concurrency: cfg.Concurrency,
		BodySize:    cfg.Size,
		Replayed:    len(cfg.Replay),
		ElapsedSec:  elapsed.Seconds(),
		CPUSec:      cpu.Seconds(),
		Failures:    map[string]int{},
		Examples:    map[string]string{},
	}
	if n := len(cfg.Replay); n > 0 {
		total := 0
		for _, m := range cfg.Replay {
			total += len(m)
		}
		r.BodySize = total / n
	}
	var lat []time.Duration
	for _, out := range results {
		for _, o := range out {
			r.Attempted++
			r.Bytes += o.bytes
			if o.gtube {
				r.GTUBE++
			}
			if o.code != 0 {
				lat = append(lat, o.latency)
			}
			switch {
			case o.code == 250:
				r.Accepted++
				continue
			case o.code == 0:
				r.NoReply++
			default:
				r.Rejected++
			}
			key := noReplyKey
			if o.code != 0 {
				key = strconv.Itoa(o.code)
			}
			r.Failures[key]++
			if _, ok := r.Examples[key]; !ok {
				r.Examples[key] = o.reply
			}
			switch {
			case o.gtube && o.code >= 500:
				r.GTUBEReject++
			case cfg.RejectsExpected && o.code >= 500 && o.code < 600:
				// Replayed spam refused by a filter: its job.
			default:
				r.Unexpected++
			}
		}
	}
	for _, c := range conns {
		r.Connections += c
	}
	if elapsed > 0 {
		r.Rate = float64(r.Accepted+r.Rejected) / elapsed.Seconds()
	}
	r.Latency = latencies(lat)
	return r
}

// latencies summarises durations by the nearest-rank percentiles.
func latencies(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	rank := func(p float64) float64 {
		i := int(p*float64(len(d))+0.999999) - 1
		i = max(0, min(i, len(d)-1))
		return ms(d[i])
	}
	return Latency{P50: rank(0.50), P90: rank(0.90), P99: rank(0.99), Max: ms(d[len(d)-1])}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// print writes the report for a person.
func (r Report) print(w io.Writer) {
	fmt.Fprintf(w, "smtpload: %s, %d messages, %d-byte bodies, %d concurrent, %d connections\n",
		r.Addr, r.Requested, r.BodySize, r.Concurrency, r.Connections)
	fmt.Fprintf(w, "  sent       %d of %d (accepted %d, rejected %d, no reply %d)\n",
		r.Attempted, r.Requested, r.Accepted, r.Rejected, r.NoReply)
	if r.GTUBE > 0 {
		fmt.Fprintf(w, "  gtube      %d carried GTUBE, %d of them rejected with 5xx (expected)\n", r.GTUBE, r.GTUBEReject)
	}
	fmt.Fprintf(w, "  unexpected %d\n", r.Unexpected)
	fmt.Fprintf(w, "  elapsed    %.3fs (smtpload used %.2fs CPU)\n", r.ElapsedSec, r.CPUSec)
	fmt.Fprintf(w, "  rate       %.1f msgs/s\n", r.Rate)
	fmt.Fprintf(w, "  latency    p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms\n",
		r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	mbps := 0.0
	if r.ElapsedSec > 0 {
		mbps = float64(r.Bytes) / r.ElapsedSec / 1e6
	}
	fmt.Fprintf(w, "  bytes      %d (%.2f MB/s)\n", r.Bytes, mbps)
	if len(r.Failures) == 0 {
		return
	}
	fmt.Fprintf(w, "failures by reply code:\n")
	keys := make([]string, 0, len(r.Failures))
	for k := range r.Failures {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-5s %d  e.g. %s\n", k, r.Failures[k], r.Examples[k])
	}
}
