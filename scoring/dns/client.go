package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"relayguard/internal/metrics"
	"strings"
	"sync/atomic"
	"time"

	mdns "github.com/miekg/dns"
)

// Options configures a Client. DefaultOptions gives the values used for
// unset fields.
type Options struct {
	// Servers are the recursive resolvers asked, as IP:port (a bare IP
	// means port 53), tried in order. Empty means the nameservers of
	// /etc/resolv.conf.
	Servers []string
	// Timeout bounds one attempt (one server, one try). Zero means
	// DefaultTimeout.
	Timeout time.Duration
	// Retries is how many more rounds over Servers are made after the
	// first one failed (timeout, SERVFAIL, REFUSED). Zero means none.
	Retries int
	// CacheSize bounds the cache, in entries (one entry is one name and
	// type). Zero means DefaultCacheSize; negative disables the cache.
	CacheSize int
	// Log receives the resolver's health changes: one Error line when a
	// server stops answering, one Warn line when it answers again. Nil
	// logs nothing.
	Log *slog.Logger
}

// ErrResolverDown is wrapped by the error of a lookup that was not sent
// because every server has stopped answering (see health.go): the check
// fails at once, as it would on a timeout, instead of waiting one.
var ErrResolverDown = errors.New("DNS unavailable: the resolver is not answering")

const (
	DefaultTimeout   = 2 * time.Second
	DefaultRetries   = 1
	DefaultCacheSize = 10000

	// maxTTL caps how long a positive answer is kept, whatever its TTL,
	// so a listing removed upstream is not believed for days.
	maxTTL = 6 * time.Hour
	// maxNegativeTTL caps negative caching at the three hours RFC 2308 §5
	// suggests.
	maxNegativeTTL = 3 * time.Hour
	// ednsSize is the EDNS0 UDP payload size we announce: the 1232 octets
	// of DNS Flag Day 2020, which avoids IP fragmentation on real paths;
	// larger answers come back truncated and are fetched over TCP.
	ednsSize = 1232
)

// DefaultOptions are the options of a Client built from a config without
// a [dns] section.
func DefaultOptions() Options {
	return Options{Timeout: DefaultTimeout, Retries: DefaultRetries, CacheSize: DefaultCacheSize}
}

// Client is a caching stub resolver on miekg/dns that implements Resolver.
// It is safe for concurrent use.
type Client struct {
	servers []*serverHealth // in the order asked
	timeout time.Duration
	retries int
	udp     *mdns.Client
	tcp     *mdns.Client
	cache   *cache // nil when disabled
	flights flightGroup
	now     func() time.Time // tests move the clock
	log     *slog.Logger
	probed  func() // tests: called when a health probe ends

	queries atomic.Uint64 // messages sent upstream (UDP and TCP)
	hits    atomic.Uint64 // questions answered from the cache
	shared  atomic.Uint64 // questions that joined an exchange in flight
}

// Stats counts what a Client did since it was made.
type Stats struct {
	// Queries is the number of queries sent upstream; a truncated UDP
	// answer retried over TCP counts twice.
	Queries uint64
	// CacheHits is the number of questions answered from the cache.
	CacheHits uint64
	// Shared is the number of questions that waited for an identical
	// question already in flight instead of asking upstream.
	Shared uint64
	// CacheEntries is the number of entries in the cache now.
	CacheEntries int
}

// New makes a Client. It reads /etc/resolv.conf when opts.Servers is empty.
func New(opts Options) (*Client, error) {
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("dns: timeout %v is negative", opts.Timeout)
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Retries < 0 {
		return nil, fmt.Errorf("dns: retries %d is negative", opts.Retries)
	}
	servers := opts.Servers
	if len(servers) == 0 {
		conf, err := mdns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("dns: no servers configured and %w", err)
		}
		for _, s := range conf.Servers {
			servers = append(servers, net.JoinHostPort(s, conf.Port))
		}
		if len(servers) == 0 {
			return nil, errors.New("dns: no servers configured and none in /etc/resolv.conf")
		}
	}
	c := &Client{
		timeout: opts.Timeout,
		retries: opts.Retries,
		udp:     &mdns.Client{Net: "udp", Timeout: opts.Timeout, UDPSize: ednsSize},
		tcp:     &mdns.Client{Net: "tcp", Timeout: opts.Timeout},
		now:     time.Now,
		log:     opts.Log,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	for _, s := range servers {
		addr, err := ServerAddr(s)
		if err != nil {
			return nil, fmt.Errorf("dns: server %q: %w", s, err)
		}
		c.servers = append(c.servers, &serverHealth{addr: addr})
	}
	switch {
	case opts.CacheSize == 0:
		c.cache = newCache(DefaultCacheSize)
	case opts.CacheSize > 0:
		c.cache = newCache(opts.CacheSize)
	}
	return c, nil
}

// ServerAddr checks that s is a resolver's address, IP or IP:port (an IPv6
// address with a port in brackets), and gives it as IP:port, port 53 when
// none is given (RFC 1035 §4.2). It is the one place a configured DNS
// server is read: config validates with it and New normalises with it.
func ServerAddr(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = strings.Trim(s, "[]"), "53"
	}
	if net.ParseIP(host) == nil {
		return "", errors.New("want an IP address, optionally with :port")
	}
	return net.JoinHostPort(host, port), nil
}

// Queries is the number of queries sent upstream so far.
func (c *Client) Queries() uint64 { return c.queries.Load() }

// Stats reports the counters.
func (c *Client) Stats() Stats {
	return Stats{
		Queries:      c.queries.Load(),
		CacheHits:    c.hits.Load(),
		Shared:       c.shared.Load(),
		CacheEntries: c.cache.len(),
	}
}

// lookup answers one question from the cache, or by joining an identical
// exchange in flight, or by starting one. The exchange runs detached from
// ctx: a caller that gives up (its deadline passed) must not fail the other
// callers waiting for the same answer, and the answer still lands in the
// cache for the next message.
func (c *Client) lookup(ctx context.Context, name string, qtype uint16) (*answer, error) {
	fq, err := canonical(name)
	if err != nil {
		return nil, &net.DNSError{Err: err.Error(), Name: name}
	}
	key := fq + "/" + mdns.TypeToString[qtype]
	if ans, ok := c.cache.get(key, c.now()); ok {
		c.hits.Add(1)
		metrics.DNSCache(true)
		return ans, nil
	}
	metrics.DNSCache(false)
	f, leader := c.flights.join(key)
	if leader {
		go c.fly(key, fq, qtype, f)
	} else {
		c.shared.Add(1)
	}
	select {
	case <-f.done:
		return f.ans, f.err
	case <-ctx.Done():
		return nil, &net.DNSError{
			Err: "lookup abandoned: " + ctx.Err().Error(), Name: name,
			IsTimeout: errors.Is(ctx.Err(), context.DeadlineExceeded), IsTemporary: true,
			UnwrapErr: ctx.Err(),
		}
	}
}

// fly runs one exchange for a flight and publishes its result.
func (c *Client) fly(key, fq string, qtype uint16, f *flight) {
	// Another flight may have filled the cache between our cache miss and
	// our joining; do not ask twice.
	if ans, ok := c.cache.get(key, c.now()); ok {
		c.flights.finish(key, f, ans, nil)
		return
	}
	// Every attempt is bounded by c.timeout; the whole exchange by the
	// sum, plus one TCP retry per round.
	budget := c.timeout * time.Duration((c.retries+1)*len(c.servers)+1)
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	ans, ttl, err := c.exchange(ctx, fq, qtype)
	if err == nil {
		c.cache.put(key, ans, ttl, c.now())
	}
	c.flights.finish(key, f, ans, err)
}

// exchange asks the servers in turn, for as many rounds as retries allow,
// until one gives an authoritative-enough answer (NOERROR or NXDOMAIN).
// Servers known down are skipped (health.go); when none was asked, the
// error is ErrResolverDown.
func (c *Client) exchange(ctx context.Context, fq string, qtype uint16) (*answer, time.Duration, error) {
	var lastErr error
	for round := 0; round <= c.retries; round++ {
		for _, h := range c.servers {
			srv := h.addr
			if !c.usable(h) {
				continue
			}
			if ctx.Err() != nil {
				return nil, 0, dnsError(fq, srv, ctx.Err())
			}
			r, responded, err := c.exchangeOne(ctx, fq, qtype, srv)
			if responded {
				c.answered(h)
			} else {
				c.failed(h, err)
			}
			if err != nil {
				lastErr = dnsError(fq, srv, err)
				continue
			}
			switch r.Rcode {
			case mdns.RcodeSuccess, mdns.RcodeNameError:
				ans, ttl := toAnswer(fq, qtype, r)
				return ans, ttl, nil
			default:
				// SERVFAIL, REFUSED, FORMERR...: this server could not
				// tell us; another one (or a later try) may.
				lastErr = &net.DNSError{
					Err:         "server misbehaving: " + mdns.RcodeToString[r.Rcode],
					Name:        strings.TrimSuffix(fq, "."),
					Server:      srv,
					IsTemporary: r.Rcode == mdns.RcodeServerFailure,
				}
			}
		}
	}
	if lastErr == nil {
		return nil, 0, resolverDown(fq)
	}
	return nil, 0, lastErr
}

// exchangeOne sends the question to one server over UDP and, when the
// answer comes back truncated (TC bit, RFC 1035 §4.2.1; RFC 7766 §5), asks
// again over TCP. responded tells whether the server sent anything back
// (whatever it was): its health depends on that alone.
func (c *Client) exchangeOne(ctx context.Context, fq string, qtype uint16, srv string) (_ *mdns.Msg, responded bool, _ error) {
	m := new(mdns.Msg)
	m.SetQuestion(fq, qtype)
	m.RecursionDesired = true
	// EDNS0 (RFC 6891) so answers up to ednsSize need no TCP.
	m.SetEdns0(ednsSize, false)

	c.queries.Add(1)
	r, _, err := c.udp.ExchangeContext(ctx, m, srv)
	responded = r != nil
	if r != nil && r.Truncated {
		// A truncated answer may not even unpack; its records are not
		// to be used either way.
		m.Id = mdns.Id()
		c.queries.Add(1)
		r, _, err = c.tcp.ExchangeContext(ctx, m, srv)
	}
	if err != nil {
		return nil, responded, err
	}
	// The ID is checked by miekg/dns; also check the question echoes ours,
	// as RFC 5452 §4.2 asks, against stray or forged answers.
	if !r.Response || len(r.Question) != 1 || r.Question[0].Qtype != qtype ||
		!strings.EqualFold(r.Question[0].Name, fq) {
		return nil, true, errors.New("answer does not match the question")
	}
	return r, true, nil
}

// toAnswer keeps the records of the asked type, following the CNAME chain
// from the asked name, and says how long the answer may be cached.
func toAnswer(fq string, qtype uint16, r *mdns.Msg) (*answer, time.Duration) {
	if r.Rcode == mdns.RcodeNameError {
		return &answer{nxdomain: true}, negativeTTL(r)
	}
	owners := map[string]bool{strings.ToLower(fq): true}
	minTTL := uint32(maxTTL / time.Second)
	// A resolver gives the chain in order, but do not rely on it: repeat
	// until no new alias is found (bounded by the number of records).
	for changed := true; changed; {
		changed = false
		for _, rr := range r.Answer {
			if cn, ok := rr.(*mdns.CNAME); ok && qtype != mdns.TypeCNAME &&
				owners[strings.ToLower(cn.Hdr.Name)] && !owners[strings.ToLower(cn.Target)] {
				owners[strings.ToLower(cn.Target)] = true
				minTTL = min(minTTL, cn.Hdr.Ttl)
				changed = true
			}
		}
	}
	var recs []mdns.RR
	for _, rr := range r.Answer {
		h := rr.Header()
		if h.Rrtype == qtype && owners[strings.ToLower(h.Name)] {
			recs = append(recs, rr)
			minTTL = min(minTTL, h.Ttl)
		}
	}
	if len(recs) == 0 {
		return &answer{}, negativeTTL(r) // NODATA
	}
	return &answer{records: recs}, time.Duration(minTTL) * time.Second
}

// negativeTTL is how long a negative answer may be cached: RFC 2308 §5,
// the lesser of the SOA record's own TTL and its MINIMUM field. Without an
// SOA in the authority section the answer is not cached at all, as that
// section says.
func negativeTTL(r *mdns.Msg) time.Duration {
	for _, rr := range r.Ns {
		if soa, ok := rr.(*mdns.SOA); ok {
			ttl := time.Duration(min(soa.Hdr.Ttl, soa.Minttl)) * time.Second
			return min(ttl, maxNegativeTTL)
		}
	}
	return 0
}

// canonical gives name as a lowercase FQDN, or says why it is no domain
// name. A trailing dot is accepted.
func canonical(name string) (string, error) {
	if name == "" || name == "." {
		return "", errors.New("empty domain name")
	}
	fq := mdns.CanonicalName(name)
	if _, ok := mdns.IsDomainName(fq); !ok {
		return "", errors.New("invalid domain name")
	}
	return fq, nil
}

// dnsError wraps a transport error as net.Resolver would.
func dnsError(fq, srv string, err error) *net.DNSError {
	var ne net.Error
	timeout := errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	msg := err.Error()
	if timeout {
		msg = "i/o timeout"
	}
	return &net.DNSError{
		Err: msg, Name: strings.TrimSuffix(fq, "."), Server: srv,
		IsTimeout: timeout, IsTemporary: true, UnwrapErr: err,
	}
}

func trimDot(fq string) string { return strings.TrimSuffix(fq, ".") }

// notFound is the error for NXDOMAIN and NODATA, as net.Resolver gives it.
func notFound(name string) *net.DNSError {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}
