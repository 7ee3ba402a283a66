package dns

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"relayguard/scoring/dns/dnstest"
)

// fakeClock lets tests move the cache's notion of now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

func newTestClient(t *testing.T, opts Options, srv ...*dnstest.Server) (*Client, *fakeClock) {
	t.Helper()
	for _, s := range srv {
		opts.Servers = append(opts.Servers, s.Addr)
	}
	if opts.Timeout == 0 {
		opts.Timeout = 500 * time.Millisecond
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2025, 6, 3, 10, 0, 0, 0, time.UTC)}
	c.now = clock.now
	return c, clock
}

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

func TestLookupsReturnRecordsOfEachType(t *testing.T) {
	srv := dnstest.NewServer(t)
	srv.Add(t,
		"example.test. 300 IN TXT \"v=spf1 \" \"-all\"",
		"example.test. 300 IN TXT \"second\"",
		"example.test. 300 IN MX 20 mx2.example.test.",
		"example.test. 300 IN MX 10 mx1.example.test.",
		"example.test. 300 IN A 192.0.2.1",
		"example.test. 300 IN AAAA 2001:db8::1",
		"alias.example.test. 300 IN CNAME example.test.",
		"7.113.0.203.in-addr.arpa. 300 IN PTR mail.example.test.",
	)
	c, _ := newTestClient(t, Options{}, srv)
	ctx := context.Background()

	tests := []struct {
		name string
		run  func() (any, error)
		want any
	}{
		{"TXT strings of one record are joined", func() (any, error) {
			txt, err := c.LookupTXT(ctx, "example.test")
			slices.Sort(txt)
			return txt, err
		}, []string{"second", "v=spf1 -all"}},
		{"MX sorted by preference", func() (any, error) {
			mx, err := c.LookupMX(ctx, "example.test")
			var hosts []string
			for _, m := range mx {
				hosts = append(hosts, m.Host)
			}
			return hosts, err
		}, []string{"mx1.example.test.", "mx2.example.test."}},
		{"A only IPv4", func() (any, error) {
			ips, err := c.LookupA(ctx, "example.test")
			return fmtIPs(ips), err
		}, []string{"192.0.2.1"}},
		{"CNAME followed", func() (any, error) {
			ips, err := c.LookupA(ctx, "alias.example.test.")
			return fmtIPs(ips), err
		}, []string{"192.0.2.1"}},
		{"IPAddr has A and AAAA", func() (any, error) {
			addrs, err := c.LookupIPAddr(ctx, "example.test")
			var ips []net.IP
			for _, a := range addrs {
				ips = append(ips, a.IP)
			}
			return fmtIPs(ips), err
		}, []string{"192.0.2.1", "2001:db8::1"}},
		{"IPAddr of an IP literal asks nobody", func() (any, error) {
			before := c.Queries()
			addrs, err := c.LookupIPAddr(ctx, "198.51.100.1")
			if c.Queries() != before {
				return nil, errors.New("an IP literal was sent upstream")
			}
			return fmtIPs([]net.IP{addrs[0].IP}), err
		}, []string{"198.51.100.1"}},
		{"PTR of an IP", func() (any, error) {
			return c.LookupAddr(ctx, "203.0.113.7")
		}, []string{"mail.example.test."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.run()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.([]string), tt.want.([]string)) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func fmtIPs(ips []net.IP) []string {
	var out []string
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	slices.Sort(out)
	return out
}

func TestFailuresAreNotFoundOnlyForNXDOMAINAndNODATA(t *testing.T) {
	srv := dnstest.NewServer(t)
	srv.Add(t, "exists.test. 300 IN A 192.0.2.1")
	srv.Behave("servfail.test", dnstest.Behaviour{Rcode: mdns.RcodeServerFailure})
	srv.Behave("refused.test", dnstest.Behaviour{Rcode: mdns.RcodeRefused})
	srv.Behave("silent.test", dnstest.Behaviour{Drop: true})
	c, _ := newTestClient(t, Options{Timeout: 100 * time.Millisecond}, srv)

	tests := []struct {
		name         string
		lookup       func() error
		wantNotFound bool
		wantTimeout  bool
	}{
		{"NXDOMAIN", func() error { _, err := c.LookupA(context.Background(), "missing.test"); return err }, true, false},
		{"NODATA", func() error { _, err := c.LookupTXT(context.Background(), "exists.test"); return err }, true, false},
		{"NODATA on both A and AAAA", func() error { _, err := c.LookupIPAddr(context.Background(), "missing.test"); return err }, true, false},
		{"PTR NXDOMAIN", func() error { _, err := c.LookupAddr(context.Background(), "192.0.2.200"); return err }, true, false},
		{"SERVFAIL", func() error { _, err := c.LookupA(context.Background(), "servfail.test"); return err }, false, false},
		{"REFUSED", func() error { _, err := c.LookupA(context.Background(), "refused.test"); return err }, false, false},
		{"timeout", func() error { _, err := c.LookupA(context.Background(), "silent.test"); return err }, false, true},
		{"invalid name", func() error { _, err := c.LookupA(context.Background(), "a..b"); return err }, false, false},
		{"bad address for PTR", func() error { _, err := c.LookupAddr(context.Background(), "not-an-ip"); return err }, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.lookup()
			if err == nil {
				t.Fatal("lookup succeeded")
			}
			var de *net.DNSError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *net.DNSError", err)
			}
			if de.IsNotFound != tt.wantNotFound {
				t.Errorf("IsNotFound = %v, want %v (%v)", de.IsNotFound, tt.wantNotFound, err)
			}
			if tt.wantTimeout && !de.IsTimeout {
				t.Errorf("IsTimeout unset on %v", err)
			}
		})
	}
}

func TestCacheHonoursTTL(t *testing.T) {
	tests := []struct {
		name        string
		record      string
		after       time.Duration
		wantQueries int
	}{
		{"within TTL answered from cache", "a.test. 60 IN A 192.0.2.1", 59 * time.Second, 1},
		{"after TTL asked again", "a.test. 60 IN A 192.0.2.1", 60 * time.Second, 2},
		{"TTL 0 never cached", "a.test. 0 IN A 192.0.2.1", 0, 2},
		{"TTL capped at six hours", "a.test. 604800 IN A 192.0.2.1", maxTTL, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := dnstest.NewServer(t)
			srv.Add(t, tt.record)
			c, clock := newTestClient(t, Options{}, srv)
			for i := range 2 {
				if _, err := c.LookupA(context.Background(), "a.test"); err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					clock.advance(tt.after)
				}
			}
			if got := srv.Queries(); got != tt.wantQueries {
				t.Errorf("server got %d queries, want %d", got, tt.wantQueries)
			}
			if got := c.Queries(); got != uint64(tt.wantQueries) {
				t.Errorf("client counted %d queries, want %d", got, tt.wantQueries)
			}
		})
	}
}

// RFC 2308 §5: a negative answer is cached for min(SOA TTL, SOA MINIMUM),
// and not at all without an SOA.
func TestNegativeAnswersCachedForSOAMinimum(t *testing.T) {
	tests := []struct {
		name        string
		soaTTL      uint32
		soaMin      uint32
		qname       string
		after       time.Duration
		wantQueries int
	}{
		{"NXDOMAIN within SOA minimum", 600, 60, "missing.test", 59 * time.Second, 1},
		{"NXDOMAIN after SOA minimum", 600, 60, "missing.test", 60 * time.Second, 2},
		{"SOA TTL lower than minimum wins", 30, 600, "missing.test", 30 * time.Second, 2},
		{"NODATA cached too", 600, 60, "exists.test", 59 * time.Second, 1},
		{"no SOA, not cached", 0, 0, "missing.test", 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := dnstest.NewServer(t)
			srv.Add(t, "exists.test. 300 IN TXT \"x\"")
			srv.SetSOA(tt.soaTTL, tt.soaMin)
			c, clock := newTestClient(t, Options{}, srv)
			for i := range 2 {
				_, err := c.LookupA(context.Background(), tt.qname)
				if !isNotFound(err) {
					t.Fatalf("want not found, got %v", err)
				}
				if i == 0 {
					clock.advance(tt.after)
				}
			}
			if got := srv.Queries(); got != tt.wantQueries {
				t.Errorf("server got %d queries, want %d", got, tt.wantQueries)
			}
		})
	}
}

func TestTruncatedAnswerRetriedOverTCP(t *testing.T) {
	srv := dnstest.NewServer(t)
	var lines []string
	for i := range 40 { // well over 1232 octets over TCP
		lines = append(lines, "big.test. 300 IN TXT \"record number "+string(rune('a'+i%26))+" padding padding padding padding\"")
	}
	srv.Add(t, lines...)
	srv.Behave("big.test", dnstest.Behaviour{Truncate: true})
	c, _ := newTestClient(t, Options{}, srv)

	txt, err := c.LookupTXT(context.Background(), "big.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(txt) != 40 {
		t.Errorf("got %d records over TCP, want 40", len(txt))
	}
	if srv.TCPQueries() != 1 || srv.Queries() != 2 {
		t.Errorf("server saw %d queries, %d over TCP; want 2 and 1", srv.Queries(), srv.TCPQueries())
	}
	if c.Queries() != 2 {
		t.Errorf("client counted %d queries, want 2 (UDP then TCP)", c.Queries())
	}
}

func TestTimeoutEndsLookupWithinBudget(t *testing.T) {
	srv := dnstest.NewServer(t)
	srv.Behave("silent.test", dnstest.Behaviour{Drop: true})
	c, _ := newTestClient(t, Options{Timeout: 100 * time.Millisecond, Retries: 1}, srv)

	start := time.Now()
	_, err := c.LookupA(context.Background(), "silent.test")
	elapsed := time.Since(start)
	if err == nil || isNotFound(err) {
		t.Fatalf("want a timeout error, got %v", err)
	}
	if srv.Queries() != 2 {
		t.Errorf("server saw %d queries, want 2 (one retry)", srv.Queries())
	}
	if elapsed > 1*time.Second {
		t.Errorf("lookup took %v with two 100ms attempts", elapsed)
	}
}

func TestCallerDeadlineEndsWaitButNotSharedExchange(t *testing.T) {
	srv := dnstest.NewServer(t)
	srv.Add(t, "slow.test. 300 IN A 192.0.2.1")
	srv.Behave("slow.test", dnstest.Behaviour{Delay: time.Second})
	c, _ := newTestClient(t, Options{Timeout: 2 * time.Second}, srv)

	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.LookupA(context.Background(), "slow.test")
		done <- err
	}()
	start := time.Now()
	if _, err := c.LookupA(short, "slow.test"); err == nil || isNotFound(err) {
		t.Errorf("impatient caller: want a timeout error, got %v", err)
	}
	if time.Since(start) > 500*time.Millisecond { // the answer takes 1s
		t.Errorf("impatient caller waited %v past its 20ms deadline", time.Since(start))
	}
	if err := <-done; err != nil {
		t.Errorf("patient caller failed with the impatient one: %v", err)
	}
	if srv.Queries() != 1 {
		t.Errorf("server saw %d queries, want 1", srv.Queries())
	}
}

func TestConcurrentIdenticalLookupsShareOneQuery(t *testing.T) {
	srv := dnstest.NewServer(t)
	srv.Add(t, "2.0.0.127.bl.test. 300 IN A 127.0.0.2")
	// The delay keeps the first exchange in flight while the others ask.
	srv.Behave("2.0.0.127.bl.test", dnstest.Behaviour{Delay: 100 * time.Millisecond})
	c, _ := newTestClient(t, Options{}, srv)

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Go(func() {
			ips, err := c.LookupA(context.Background(), "2.0.0.127.bl.test")
			if err == nil && (len(ips) != 1 || !ips[0].Equal(net.IPv4(127, 0, 0, 2))) {
				err = errors.New("wrong answer")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Queries(); got != 1 {
		t.Errorf("100 concurrent lookups sent %d queries, want 1", got)
	}
	if st := c.Stats(); st.Queries != 1 || st.Shared+st.CacheHits != 99 {
		t.Errorf("stats %+v: want 1 query and 99 shared or cached", st)
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	srv := dnstest.NewServer(t)
	srv.Add(t, "a.test. 300 IN A 192.0.2.1", "b.test. 300 IN A 192.0.2.2", "c.test. 300 IN A 192.0.2.3")
	c, _ := newTestClient(t, Options{CacheSize: 2}, srv)
	ctx := context.Background()
	for _, name := range []string{"a.test", "b.test", "a.test", "c.test"} { // b is least recent when c comes
		if _, err := c.LookupA(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if c.Stats().CacheEntries != 2 {
		t.Errorf("cache holds %d entries, bound is 2", c.Stats().CacheEntries)
	}
	before := srv.Queries()
	c.LookupA(ctx, "a.test")
	if srv.Queries() != before {
		t.Error("a.test (recently used) was evicted")
	}
	c.LookupA(ctx, "b.test")
	if srv.Queries() != before+1 {
		t.Error("b.test (least recently used) was not evicted")
	}
}

func TestCacheDisabledAsksEveryTime(t *testing.T) {
	srv := dnstest.NewServer(t)
	srv.Add(t, "a.test. 300 IN A 192.0.2.1")
	c, _ := newTestClient(t, Options{CacheSize: -1}, srv)
	for range 3 {
		if _, err := c.LookupA(context.Background(), "a.test"); err != nil {
			t.Fatal(err)
		}
	}
	if srv.Queries() != 3 {
		t.Errorf("server saw %d queries, want 3", srv.Queries())
	}
}

func TestFailingServerFallsBackToNext(t *testing.T) {
	tests := []struct {
		name string
		bad  dnstest.Behaviour
	}{
		{"SERVFAIL", dnstest.Behaviour{Rcode: mdns.RcodeServerFailure}},
		{"REFUSED", dnstest.Behaviour{Rcode: mdns.RcodeRefused}},
		{"no answer", dnstest.Behaviour{Drop: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad, good := dnstest.NewServer(t), dnstest.NewServer(t)
			bad.Behave("a.test", tt.bad)
			good.Add(t, "a.test. 300 IN A 192.0.2.1")
			c, _ := newTestClient(t, Options{Timeout: 100 * time.Millisecond}, bad, good)
			ips, err := c.LookupA(context.Background(), "a.test")
			if err != nil || len(ips) != 1 {
				t.Fatalf("got %v, %v", ips, err)
			}
			if bad.Queries() != 1 || good.Queries() != 1 {
				t.Errorf("queries: bad %d, good %d; want 1 each", bad.Queries(), good.Queries())
			}
		})
	}
}

func TestFailuresAreNotCached(t *testing.T) {
	srv := dnstest.NewServer(t)
	srv.Behave("a.test", dnstest.Behaviour{Rcode: mdns.RcodeServerFailure})
	c, _ := newTestClient(t, Options{}, srv)
	c.LookupA(context.Background(), "a.test")
	srv.Behave("a.test", dnstest.Behaviour{})
	srv.Add(t, "a.test. 300 IN A 192.0.2.1")
	if _, err := c.LookupA(context.Background(), "a.test"); err != nil {
		t.Errorf("a SERVFAIL was remembered: %v", err)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr bool
	}{
		{"IP and port", Options{Servers: []string{"127.0.0.1:5353"}}, false},
		{"bare IP gets port 53", Options{Servers: []string{"::1"}}, false},
		{"host name refused", Options{Servers: []string{"dns.example:53"}}, true},
		{"negative timeout", Options{Servers: []string{"127.0.0.1"}, Timeout: -time.Second}, true},
		{"negative retries", Options{Servers: []string{"127.0.0.1"}, Retries: -1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestPeekAnswersFromCacheOnly(t *testing.T) {
	srv := dnstest.NewServer(t)
	srv.Add(t, "a.test. 300 IN A 192.0.2.1", "a.test. 300 IN TXT \"x\" \"y\"")
	c, clock := newTestClient(t, Options{}, srv)
	if _, cached, _ := c.PeekA("a.test"); cached {
		t.Fatal("cold cache peeked a hit")
	}
	if srv.Queries() != 0 {
		t.Fatal("peek sent a query")
	}
	c.LookupA(context.Background(), "a.test")
	c.LookupTXT(context.Background(), "a.test")
	c.LookupA(context.Background(), "missing.test")
	ips, cached, err := c.PeekA("A.TEST.")
	if !cached || err != nil || len(ips) != 1 || ips[0].String() != "192.0.2.1" {
		t.Errorf("PeekA = %v %v %v", ips, cached, err)
	}
	txt, cached, err := c.PeekTXT("a.test")
	if !cached || err != nil || len(txt) != 1 || txt[0] != "xy" {
		t.Errorf("PeekTXT = %v %v %v", txt, cached, err)
	}
	if _, cached, err := c.PeekA("missing.test"); !cached || !isNotFound(err) {
		t.Errorf("negative answer: cached=%v err=%v", cached, err)
	}
	clock.advance(301 * time.Second)
	if _, cached, _ := c.PeekA("a.test"); cached {
		t.Error("expired answer peeked")
	}
	if srv.Queries() != 3 {
		t.Errorf("%d queries, want 3", srv.Queries())
	}
}
