// Package dnstest runs an in-process DNS server on loopback for tests: a
// small zone held in memory, answered over UDP and TCP on the same port,
// with per-name misbehaviour (no answer, SERVFAIL, truncation, delay) and
// counters of what was asked. No test of relayguard touches the real DNS.
package dnstest

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// Behaviour is how the server misbehaves for one name.
type Behaviour struct {
	// Drop never answers (the client times out).
	Drop bool
	// Rcode, when not zero, is answered instead of looking at the zone
	// (mdns.RcodeServerFailure, mdns.RcodeRefused).
	Rcode int
	// Truncate answers over UDP with the TC bit set and no records; the
	// full answer is given over TCP only.
	Truncate bool
	// Delay waits this long before answering.
	Delay time.Duration
}

// Server is a DNS server on 127.0.0.1 for one test.
type Server struct {
	// Addr is the address clients ask, as IP:port (UDP and TCP).
	Addr string

	mu      sync.Mutex
	zone    map[string][]mdns.RR // by lowercase FQDN owner
	behave  map[string]Behaviour
	soa     *mdns.SOA
	dropAll bool
	total   int
	tcp     int
	perName map[string]int
}

// NewServer starts a server; it stops when the test ends. Negative answers
// carry an SOA with TTL and MINIMUM 300 unless SetSOA says otherwise.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		zone:    make(map[string][]mdns.RR),
		behave:  make(map[string]Behaviour),
		perName: make(map[string]int),
	}
	s.SetSOA(300, 300)

	s.Addr = Serve(t, mdns.HandlerFunc(s.serve))
	return s
}

// Serve answers DNS with h over UDP and TCP on one loopback port until
// the test ends, and returns that address ("127.0.0.1:port").
func Serve(t testing.TB, h mdns.Handler) string {
	t.Helper()
	var pc net.PacketConn
	var ln net.Listener
	for try := 0; ; try++ {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dnstest: listen udp: %v", err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		if try == 20 {
			t.Fatalf("dnstest: no port free for both udp and tcp: %v", err)
		}
	}
	var started sync.WaitGroup
	started.Add(2)
	udp := &mdns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: started.Done}
	tcp := &mdns.Server{Listener: ln, Handler: h, NotifyStartedFunc: started.Done}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	started.Wait()
	t.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
	})
	return pc.LocalAddr().String()
}

// Add puts records in the zone, written as zone-file lines
// ("7.113.0.203.bl.test. 300 IN A 127.0.0.2"). A name "*.suffix." is a
// wildcard for every name under suffix that has no records of its own.
func (s *Server) Add(t testing.TB, lines ...string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range lines {
		rr, err := mdns.NewRR(l)
		if err != nil || rr == nil {
			t.Fatalf("dnstest: record %q: %v", l, err)
		}
		name := strings.ToLower(rr.Header().Name)
		s.zone[name] = append(s.zone[name], rr)
	}
}

// Remove deletes every record of name.
func (s *Server) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.zone, strings.ToLower(mdns.Fqdn(name)))
}

// SetSOA sets the TTL and MINIMUM of the SOA sent with negative answers;
// ttl 0 and minimum 0 together mean no SOA at all.
func (s *Server) SetSOA(ttl, minimum uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ttl == 0 && minimum == 0 {
		s.soa = nil
		return
	}
	s.soa = &mdns.SOA{
		Hdr: mdns.RR_Header{Name: "test.", Rrtype: mdns.TypeSOA, Class: mdns.ClassINET, Ttl: ttl},
		Ns:  "ns.test.", Mbox: "hostmaster.test.", Serial: 1,
		Refresh: 3600, Retry: 600, Expire: 86400, Minttl: minimum,
	}
}

// Behave sets how the server misbehaves for name (any type).
func (s *Server) Behave(name string, b Behaviour) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behave[strings.ToLower(mdns.Fqdn(name))] = b
}

// Blackhole makes the server read and drop every query while on is true:
// a resolver that swallows queries (firewalled, wedged, gone), as clients
// see it. Queries dropped are still counted.
func (s *Server) Blackhole(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropAll = on
}

// Queries is the number of queries received, over UDP and TCP.
func (s *Server) Queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// TCPQueries is the number of queries received over TCP.
func (s *Server) TCPQueries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tcp
}

// QueriesFor is the number of queries received for name (any type).
func (s *Server) QueriesFor(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perName[strings.ToLower(mdns.Fqdn(name))]
}

// QueriesUnder is the number of queries received for names ending in
// suffix (a zone).
func (s *Server) QueriesUnder(suffix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	suffix = strings.ToLower(mdns.Fqdn(suffix))
	n := 0
	for name, c := range s.perName {
		if name == suffix || strings.HasSuffix(name, "."+suffix) {
			n += c
		}
	}
	return n
}

func (s *Server) serve(w mdns.ResponseWriter, req *mdns.Msg) {
	if len(req.Question) != 1 {
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	_, overTCP := w.RemoteAddr().(*net.TCPAddr)

	s.mu.Lock()
	s.total++
	s.perName[name]++
	if overTCP {
		s.tcp++
	}
	b := s.behave[name]
	drop := s.dropAll
	s.mu.Unlock()

	if b.Drop || drop {
		return
	}
	if b.Delay > 0 {
		time.Sleep(b.Delay)
	}
	resp := new(mdns.Msg)
	resp.SetReply(req)
	resp.RecursionAvailable = true
	switch {
	case b.Rcode != 0:
		resp.Rcode = b.Rcode
	case b.Truncate && !overTCP:
		resp.Truncated = true
	default:
		s.answer(resp, name, q.Qtype)
	}
	w.WriteMsg(resp)
}

// answer fills resp from the zone: records (following CNAMEs), NODATA or
// NXDOMAIN with the SOA.
func (s *Server) answer(resp *mdns.Msg, name string, qtype uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for hops := 0; hops < 8; hops++ {
		rrs, ok := s.zone[name]
		if !ok {
			rrs, ok = s.wildcard(name)
		}
		if !ok {
			if len(resp.Answer) == 0 {
				resp.Rcode = mdns.RcodeNameError
			}
			s.addSOA(resp)
			return
		}
		var cname string
		found := false
		for _, rr := range rrs {
			h := rr.Header()
			switch {
			case h.Rrtype == qtype:
				c := mdns.Copy(rr)
				c.Header().Name = name
				resp.Answer = append(resp.Answer, c)
				found = true
			case h.Rrtype == mdns.TypeCNAME:
				c := mdns.Copy(rr)
				c.Header().Name = name
				resp.Answer = append(resp.Answer, c)
				cname = strings.ToLower(rr.(*mdns.CNAME).Target)
			}
		}
		if found || cname == "" {
			if !found {
				s.addSOA(resp)
			}
			return
		}
		name = cname
	}
}

func (s *Server) wildcard(name string) ([]mdns.RR, bool) {
	labels := mdns.SplitDomainName(name)
	for i := 1; i < len(labels); i++ {
		if rrs, ok := s.zone["*."+strings.Join(labels[i:], ".")+"."]; ok {
			return rrs, true
		}
	}
	return nil, false
}

func (s *Server) addSOA(resp *mdns.Msg) {
	if s.soa != nil {
		resp.Ns = append(resp.Ns, mdns.Copy(s.soa))
	}
}
