package dnsbl

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	parsed "relayguard/rules/message"
	"relayguard/scoring"
	"relayguard/scoring/dns"
	"relayguard/scoring/dns/dnstest"
	"relayguard/scoring/rdns"
)

// spamMessage is a message with n links over n distinct domains, one of
// them listed.
func spamMessage(tb testing.TB, n int) *parsed.Message {
	var body strings.Builder
	body.WriteString("<html><body>\r\n")
	for i := range n - 1 {
		fmt.Fprintf(&body, "<a href=\"https://www.filler%d.example/p?id=%d\">offer %d</a><br>\r\n", i, i, i)
	}
	body.WriteString("<a href=\"https://shop.example.biz/\">buy</a>\r\n</body></html>\r\n")
	return testMessage(tb, "From: Deals <deals@sender.example>\nSubject: offer\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8", body.String())
}

// allChecks builds the connect and data checks of this package and rdns
// on one resolver.
func allChecks(tb testing.TB, r dns.Resolver) []scoring.Check {
	tb.Helper()
	cfg := Config{Resolver: r, DNSBL: []List{zenList()}, DNSWL: []List{dnswlList()}, URIBL: []List{dblList(), surblList()}}
	ip, err := NewIPCheck(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	uri, err := NewURICheck(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	rd, err := rdns.NewRDNS(rdns.Options{Resolver: r})
	if err != nil {
		tb.Fatal(err)
	}
	helo, err := rdns.NewHELO(rdns.Options{Resolver: r})
	if err != nil {
		tb.Fatal(err)
	}
	return []scoring.Check{ip, uri, rd, helo}
}

// BenchmarkVerdictWarmCache measures what the DNS checks add to a verdict
// once the cache holds their answers: the engine scoring one message with
// the checks, against the engine with none.
func BenchmarkVerdictWarmCache(b *testing.B) {
	srv := world(b)
	r := resolver(b, srv)
	msg := spamMessage(b, 30)
	conn := scoring.Conn{ClientIP: netip.MustParseAddr("203.0.113.7"), Helo: "mail.example.com"}
	for _, withChecks := range []bool{false, true} {
		var checks []scoring.Check
		if withChecks {
			checks = allChecks(b, r)
		}
		e, err := scoring.NewEngine(scoring.Options{Policy: scoring.DefaultPolicy(), Timeout: 5 * time.Second, Checks: checks})
		if err != nil {
			b.Fatal(err)
		}
		e.Score(conn, "deals@sender.example", []string{"u@example.org"}, msg) // warm the cache
		b.Run(fmt.Sprintf("checks=%v", withChecks), func(b *testing.B) {
			before := r.Queries()
			for b.Loop() {
				v := e.Score(conn, "deals@sender.example", []string{"u@example.org"}, msg)
				if withChecks && len(v.Symbols) == 0 {
					b.Fatal("no symbols")
				}
			}
			if q := r.Queries() - before; q != 0 {
				b.Errorf("%d upstream queries with a warm cache", q)
			}
		})
	}
}

// concurrentFromOneIP scores n messages from one IP at once on a cold cache
// and returns the queries each zone received.
func concurrentFromOneIP(tb testing.TB, n int) map[string]int {
	srv := world(tb)
	for _, name := range []string{"7.113.0.203.bl.test", "7.113.0.203.wl.test"} {
		srv.Behave(name, dnstest.Behaviour{Delay: 5 * time.Millisecond}) // a real list is not instant
	}
	r := resolver(tb, srv)
	k, err := NewIPCheck(Config{Resolver: r, DNSBL: []List{zenList()}, DNSWL: []List{dnswlList()}})
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if res := k.Judge(bg, netip.MustParseAddr("203.0.113.7"), ""); len(res.Symbols) != 1 {
				tb.Errorf("got %+v", res.Symbols)
			}
		})
	}
	wg.Wait()
	return map[string]int{"bl.test": srv.QueriesUnder("bl.test"), "wl.test": srv.QueriesUnder("wl.test")}
}

func TestConcurrentMessagesFromOneIPAskEachZoneOnce(t *testing.T) {
	got := concurrentFromOneIP(t, 100)
	// bl.test: one A and one TXT (the IP is listed); wl.test: one A.
	if got["bl.test"] != 2 || got["wl.test"] != 1 {
		t.Errorf("100 concurrent messages sent %v queries; want bl.test 2 (A+TXT), wl.test 1", got)
	}
}

func BenchmarkConcurrentMessagesFromOneIP(b *testing.B) {
	var perZone float64
	for b.Loop() {
		got := concurrentFromOneIP(b, 100)
		perZone = float64(got["bl.test"]+got["wl.test"]) / 2
	}
	b.ReportMetric(perZone, "queries/zone")
}

// manyLinks scores a message with 200 links on a cold cache and returns the
// queries each URIBL zone received.
func manyLinks(tb testing.TB) map[string]int {
	srv := world(tb)
	r := resolver(tb, srv)
	k, err := NewURICheck(Config{Resolver: r, URIBL: []List{dblList(), surblList()}})
	if err != nil {
		tb.Fatal(err)
	}
	res := k.Run(bg, &scoring.Input{From: "deals@sender.example", Message: spamMessage(tb, 200)})
	if len(res.Symbols) == 0 {
		tb.Errorf("nothing found: %v", res.Err)
	}
	return map[string]int{"dbl.test": srv.QueriesUnder("dbl.test"), "multi.test": srv.QueriesUnder("multi.test")}
}

func TestTwoHundredLinksCappedAtMaxLookups(t *testing.T) {
	got := manyLinks(t)
	// At most MaxLookups A queries per list, plus a TXT per listed name
	// (sender.example on dbl.test, and the listed link if within the cap).
	for zone, n := range got {
		if n > DefaultMaxLookups+2 {
			t.Errorf("%s got %d queries for %d allowed names", zone, n, DefaultMaxLookups)
		}
	}
}

func BenchmarkTwoHundredLinks(b *testing.B) {
	var q float64
	for b.Loop() {
		got := manyLinks(b)
		q = float64(max(got["dbl.test"], got["multi.test"]))
	}
	b.ReportMetric(q, "queries/zone")
}
