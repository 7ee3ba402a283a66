package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// testZone is all the DNS the tests' world has: loopback's names. Every
// other name does not exist (NXDOMAIN), so SPF, DMARC and DNSBL checks find
// nothing, quickly and the same way on every machine.
var testZone = map[string][]string{
	"localhost.":              {"localhost. 60 IN A 127.0.0.1"},
	"1.0.0.127.in-addr.arpa.": {"1.0.0.127.in-addr.arpa. 60 IN PTR localhost."},
	"client.test.":            {"client.test. 60 IN A 127.0.0.1"},
	"relayguard.test.":        {"relayguard.test. 60 IN A 127.0.0.1"},
	"mail.example.com.":       {"mail.example.com. 60 IN A 127.0.0.1"},
	"example.com.":            {"example.com. 60 IN MX 10 mail.example.com."},
}

// startTestDNS serves testZone on addr over UDP and TCP.
func startTestDNS(addr string) (stop func(), err error) {
	records := map[string][]dns.RR{}
	for name, texts := range testZone {
		records[strings.ToLower(name)] = nil
		for _, text := range texts {
			rr, err := dns.NewRR(text)
			if err != nil {
				return nil, fmt.Errorf("test zone %s: %w", name, err)
			}
			records[strings.ToLower(name)] = append(records[strings.ToLower(name)], rr)
		}
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		if len(r.Question) == 1 {
			q := r.Question[0]
			rrs, ok := records[strings.ToLower(q.Name)]
			if !ok {
				m.Rcode = dns.RcodeNameError
			}
			for _, rr := range rrs {
				if rr.Header().Rrtype == q.Qtype {
					m.Answer = append(m.Answer, rr)
				}
			}
		}
		w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		pc.Close()
		return nil, err
	}
	udp := &dns.Server{PacketConn: pc, Handler: handler}
	tcp := &dns.Server{Listener: ln, Handler: handler}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	return func() {
		udp.Shutdown()
		tcp.Shutdown()
	}, nil
}

// TestHarnessIsolation checks the ground the other tests stand on: the only
// network interface is loopback, and the system resolver (which relayguard
// and Exim use) is the tests' DNS server.
func TestHarnessIsolation(t *testing.T) {
	needHarness(t)
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagLoopback == 0 {
			t.Errorf("interface %s in the tests' network namespace, want loopback only", ifc.Name)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, "client.test")
	if err != nil || len(addrs) != 1 || addrs[0] != "127.0.0.1" {
		t.Errorf("client.test resolves to %v, %v; want 127.0.0.1 from the test zone", addrs, err)
	}
	_, err = net.DefaultResolver.LookupHost(ctx, "nowhere.example.org")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("nowhere.example.org: %v, want NXDOMAIN from the test DNS server", err)
	}
}
