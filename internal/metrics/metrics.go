// Package metrics defines every metric relayguard exports, on a registry
// of its own (not the process-wide default one, which libraries may fill),
// and small typed helpers so the front door and the checks only call
// functions. Labels come from bounded sets only: reasons, actions, phases,
// check names, list zones, symbol names (bounded by the rule set, as
// rspamd's). Never an address, an IP, a user or a domain: those grow
// without bound and would make the metrics a log.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Registry holds every relayguard metric, built once.
var Registry = prometheus.NewRegistry()

// names are the relayguard metrics registered (Gather omits a vector
// until its first child exists).
var names = map[string]bool{}

// register adds c, named name, to the registry.
func register[C prometheus.Collector](name string, c C) C {
	Registry.MustRegister(c)
	names[name] = true
	return c
}

// Registered reports whether name is a registered relayguard metric.
func Registered(name string) bool { return names[name] }

func newCounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return register(name, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels))
}

func newCounter(name, help string) prometheus.Counter {
	return register(name, prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help}))
}

// Latency buckets from a cache hit (sub-millisecond) to a verdict that
// waited out a slow list (the default scoring timeout is seconds).
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

var (
	connections = newCounterVec("relayguard_connections_total",
		"SMTP connections: accepted, or refused by a limit (reason: max_connections, max_connections_per_ip, draining).", "result", "reason")
	messages = newCounterVec("relayguard_messages_total",
		"Messages by what became of them at end of DATA (relayed, rejected, tempfailed, limited, upstream_refused, upstream_failed, aborted).", "action")
	symbols = newCounterVec("relayguard_symbol_hits_total",
		"Symbols found in verdicts, by symbol name.", "symbol")
	verdictSeconds = register("relayguard_verdict_seconds", prometheus.NewHistogram(prometheus.HistogramOpts{Name: "relayguard_verdict_seconds",
		Help: "Time from end of DATA to the verdict (the wait for the checks still running).", Buckets: latencyBuckets}))
	checkSeconds = register("relayguard_check_seconds", prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "relayguard_check_seconds",
		Help: "Time each check ran, by check name.", Buckets: latencyBuckets}, []string{"check"}))
	dnsQueries = newCounterVec("relayguard_dns_list_queries_total",
		"Blocklist lookups by list zone and result (listed, clean, error).", "zone", "result")
	dnsCacheHits    = newCounter("relayguard_dns_cache_hits_total", "DNS questions answered from the cache.")
	dnsCacheMisses  = newCounter("relayguard_dns_cache_misses_total", "DNS questions not in the cache (asked upstream or joined a query in flight).")
	upstreamReplies = newCounterVec("relayguard_upstream_replies_total",
		"Replies of the next hop (the MTA behind us) by class: 2xx, 4xx, 5xx, or error (no reply: connection failed).", "class")
	spoolBytes = newCounter("relayguard_spool_bytes_total",
		"Bytes of message data received and spooled (memory or disk).")
	spoolDiskBytes = newCounter("relayguard_spool_disk_bytes_total",
		"Bytes of message data spooled to a temporary file (messages above server.spool_memory_bytes).")
	rateLimited = newCounterVec("relayguard_ratelimit_trips_total",
		"Refusals by a volume limit, the hold or the AUTH-failure block, by key kind (user, sender, ip, original_ip, hold, auth_failures).", "key")
	egressListed = register("relayguard_egress_listed", prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "relayguard_egress_listed",
		Help: "1 when one of our egress IPs (access.egress_ips) is listed on the zone, else 0. The log names the IP."}, []string{"zone"}))
	egressChecks = newCounterVec("relayguard_egress_checks_total",
		"Lookups of our egress IPs on the blocklists, by result (listed, clean, error).", "result")
	ready = register("relayguard_ready", prometheus.NewGauge(prometheus.GaugeOpts{Name: "relayguard_ready",
		Help: "1 when /readyz answers 200: configuration loaded and the upstream answered a recent probe."}))
)

func init() {
	Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Children of fixed label sets are made now, so the series exist (at
	// zero) before the first event: a rate() over a series that appears
	// only with its first event misses that event.
	for _, a := range []string{ActionRelayed, ActionRejected, ActionTempfailed, ActionLimited,
		ActionUpstreamRefused, ActionUpstreamFailed, ActionAborted} {
		actionCounters[a] = messages.WithLabelValues(a)
	}
	for _, c := range []string{"2xx", "4xx", "5xx", "error"} {
		upstreamCounters[c] = upstreamReplies.WithLabelValues(c)
	}
	for _, r := range []string{"max_connections", "max_connections_per_ip", "draining"} {
		refusedCounters[r] = connections.WithLabelValues("refused", r)
	}
	for _, k := range []string{"user", "sender", "ip", "original_ip", "hold", "auth_failures"} {
		limitCounters[k] = rateLimited.WithLabelValues(k)
	}
	for _, r := range []string{"listed", "clean", "error"} {
		egressCounters[r] = egressChecks.WithLabelValues(r)
	}
}

// Actions: what became of a message (the action label).
const (
	ActionRelayed         = "relayed"
	ActionRejected        = "rejected"
	ActionTempfailed      = "tempfailed"
	ActionLimited         = "limited"
	ActionUpstreamRefused = "upstream_refused"
	ActionUpstreamFailed  = "upstream_failed"
	ActionAborted         = "aborted"
)

var (
	accepted         = connections.WithLabelValues("accepted", "")
	actionCounters   = map[string]prometheus.Counter{}
	upstreamCounters = map[string]prometheus.Counter{}
	refusedCounters  = map[string]prometheus.Counter{}
	limitCounters    = map[string]prometheus.Counter{}
	egressCounters   = map[string]prometheus.Counter{}
)

// childOf returns the pre-made child for a fixed label value; a value
// outside the set (a new one a caller forgot to add here) is counted as
// "other" rather than growing the set.
func childOf(m map[string]prometheus.Counter, vec *prometheus.CounterVec, value string, otherLabels ...string) prometheus.Counter {
	if c, ok := m[value]; ok {
		return c
	}
	return vec.WithLabelValues(append(otherLabels, "other")...)
}

// ConnAccepted counts a connection let in.
func ConnAccepted() { accepted.Inc() }

// ConnRefused counts a connection refused by a limit.
func ConnRefused(reason string) {
	childOf(refusedCounters, connections, reason, "refused").Inc()
}

// Message counts a message by what became of it (one of the Action
// constants).
func Message(action string) { childOf(actionCounters, messages, action).Inc() }

// symbolCache holds the counter of each symbol seen: WithLabelValues hashes
// the label on every call, a sync.Map read does not lock.
var symbolCache sync.Map // string → prometheus.Counter

// Symbol counts one symbol in a verdict.
func Symbol(name string) {
	if c, ok := symbolCache.Load(name); ok {
		c.(prometheus.Counter).Inc()
		return
	}
	c, _ := symbolCache.LoadOrStore(name, symbols.WithLabelValues(name))
	c.(prometheus.Counter).Inc()
}

// Verdict records how long the verdict took.
func Verdict(d time.Duration) { verdictSeconds.Observe(d.Seconds()) }

var checkCache sync.Map // string → prometheus.Observer

// Check records how long one check ran.
func Check(name string, d time.Duration) {
	o, ok := checkCache.Load(name)
	if !ok {
		o, _ = checkCache.LoadOrStore(name, checkSeconds.WithLabelValues(name))
	}
	o.(prometheus.Observer).Observe(d.Seconds())
}

// List results (the result label of DNS list queries).
const (
	Listed = "listed"
	Clean  = "clean"
	Error  = "error"
)

type zoneResult struct{ zone, result string }

var listCache sync.Map // zoneResult → prometheus.Counter

// ListQuery counts one blocklist lookup by the list's zone (as shown,
// never with a DQS key) and its result.
func ListQuery(zone, result string) {
	k := zoneResult{zone, result}
	c, ok := listCache.Load(k)
	if !ok {
		c, _ = listCache.LoadOrStore(k, dnsQueries.WithLabelValues(zone, result))
	}
	c.(prometheus.Counter).Inc()
}

// DNSCache counts a DNS question answered from the cache (hit) or not.
func DNSCache(hit bool) {
	if hit {
		dnsCacheHits.Inc()
		return
	}
	dnsCacheMisses.Inc()
}

// UpstreamReply counts a reply of the next hop by its code; code 0 is no
// reply at all (the connection failed).
func UpstreamReply(code int) {
	class := "error"
	switch {
	case code >= 200 && code < 300:
		class = "2xx"
	case code >= 400 && code < 500:
		class = "4xx"
	case code >= 500 && code < 600:
		class = "5xx"
	}
	upstreamCounters[class].Inc()
}

// Spooled counts a message's bytes, and whether they went to disk.
func Spooled(n int64, onDisk bool) {
	spoolBytes.Add(float64(n))
	if onDisk {
		spoolDiskBytes.Add(float64(n))
	}
}

// RateLimited counts a refusal by a limit of the given key kind.
func RateLimited(key string) { childOf(limitCounters, rateLimited, key).Inc() }

// EgressListed sets whether one of our egress IPs is listed on zone.
func EgressListed(zone string, listed bool) {
	v := 0.0
	if listed {
		v = 1
	}
	egressListed.WithLabelValues(zone).Set(v)
}

// EgressReset forgets the zones of a previous watch (its lists changed).
func EgressReset() { egressListed.Reset() }

// EgressCheck counts one lookup of an egress IP by result.
func EgressCheck(result string) { childOf(egressCounters, egressChecks, result).Inc() }

// Ready sets the readiness gauge.
func Ready(ok bool) {
	if ok {
		ready.Set(1)
		return
	}
	ready.Set(0)
}

// Value is the current value of the series name with the given label
// pairs ("zone", "bl.test"), summed over any other labels; for tests and
// reports, not the hot path (it gathers the whole registry).
func Value(name string, labelPairs ...string) float64 {
	mfs, err := Registry.Gather()
	if err != nil {
		return 0
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labelPairs); i += 2 {
		want[labelPairs[i]] = labelPairs[i+1]
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			n := 0
			for _, lp := range m.GetLabel() {
				if v, ok := want[lp.GetName()]; ok {
					if v != lp.GetValue() {
						continue series
					}
					n++
				}
			}
			if n != len(want) {
				continue
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}
