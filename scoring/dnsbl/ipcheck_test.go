package dnsbl

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"relayguard/scoring"
	"relayguard/scoring/dns/dnstest"
)

type wantSym struct {
	name   string
	score  float64
	detail string // substring
}

func checkSymbols(t *testing.T, got []scoring.Symbol, want []wantSym) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d symbols %+v, want %d %+v", len(got), got, len(want), want)
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			if g.Name == w.name {
				found = true
				if g.Score != w.score || !strings.Contains(g.Detail, w.detail) {
					t.Errorf("%s: got %.1f %q, want %.1f containing %q", w.name, g.Score, g.Detail, w.score, w.detail)
				}
			}
		}
		if !found {
			t.Errorf("no symbol %s in %+v", w.name, got)
		}
	}
}

func TestIPCheckJudgesTheClient(t *testing.T) {
	srv := world(t)
	srv.Behave("7.113.0.203.down.test", dnstest.Behaviour{Drop: true})
	r := resolver(t, srv)
	base := Config{Resolver: r, DNSBL: []List{zenList()}, DNSWL: []List{dnswlList()}}
	withBroken := base
	withBroken.DNSBL = append([]List{
		{Zone: "public.test", Name: "PUBLIC", Weight: 6},
		{Zone: "hijack.test", Name: "HIJACK", Weight: 6},
		{Zone: "down.test", Name: "DOWN", Weight: 6},
	}, base.DNSBL...)

	tests := []struct {
		name    string
		cfg     Config
		in      scoring.Input
		want    []wantSym
		wantErr []string
	}{
		{"listed, with the list's TXT", base, scoring.Input{ClientIP: netip.MustParseAddr("203.0.113.7")},
			[]wantSym{{"DNSBL_ZEN", 6, "203.0.113.7 listed on bl.test (127.0.0.2): https://www.spamhaus.org/query/ip/203.0.113.7"}}, nil},
		{"IPv4-mapped client", base, scoring.Input{ClientIP: netip.MustParseAddr("::ffff:203.0.113.7")},
			[]wantSym{{"DNSBL_ZEN", 6, "203.0.113.7 listed"}}, nil},
		{"IPv6 client, nibble query", base, scoring.Input{ClientIP: netip.MustParseAddr("2001:db8:bad::7")},
			[]wantSym{{"DNSBL_ZEN", 6, "2001:db8:bad::7 listed on bl.test (127.0.0.3)"}}, nil},
		{"policy listing counts on the client", base, scoring.Input{ClientIP: netip.MustParseAddr("203.0.113.8")},
			[]wantSym{{"DNSBL_ZEN", 3, "(127.0.0.10)"}}, nil},
		{"allowlisted", base, scoring.Input{ClientIP: netip.MustParseAddr("203.0.113.20")},
			[]wantSym{{"DNSWL_DNSWL", -2, "203.0.113.20 listed on wl.test (127.0.10.2)"}}, nil},
		{"not listed anywhere", base, scoring.Input{ClientIP: netip.MustParseAddr("203.0.113.99")}, nil, nil},
		{"trusted relay skipped", base, scoring.Input{ClientIP: netip.MustParseAddr("198.51.100.7"), Facts: scoring.Facts{Relayed: true}}, nil, nil},
		{"authenticated user skipped", base, scoring.Input{ClientIP: netip.MustParseAddr("203.0.113.8"), Facts: scoring.Facts{AuthUser: "alice"}}, nil, nil},
		{"private client never asked", base, scoring.Input{ClientIP: netip.MustParseAddr("10.1.2.3")}, nil, nil},
		{"offline check without IP", base, scoring.Input{}, nil, nil},
		{"broken lists fail alone", withBroken, scoring.Input{ClientIP: netip.MustParseAddr("203.0.113.7")},
			[]wantSym{
				{"DNSBL_ZEN", 6, "listed on bl.test"},
				{"DNSBL_PUBLIC_TEMPFAIL", 0, "203.0.113.7 could not be checked on public.test"},
				{"DNSBL_HIJACK_TEMPFAIL", 0, "could not be checked on hijack.test"},
				{"DNSBL_DOWN_TEMPFAIL", 0, "could not be checked on down.test"},
			},
			[]string{"dnsbl public.test: 203.0.113.7: answer 127.255.255.254 is an error code", "dnsbl hijack.test: 203.0.113.7: answer 192.0.2.80 is outside", "dnsbl down.test: 203.0.113.7: lookup"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewIPCheck(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if k.Name() != "dnsbl" || k.Phase() != scoring.PhaseConnect {
				t.Errorf("check %s at %v", k.Name(), k.Phase())
			}
			res := k.Run(bg, &tt.in)
			checkSymbols(t, res.Symbols, tt.want)
			if len(tt.wantErr) == 0 && res.Err != nil {
				t.Errorf("Err = %v", res.Err)
			}
			for _, w := range tt.wantErr {
				if res.Err == nil || !strings.Contains(res.Err.Error(), w) {
					t.Errorf("Err = %v, want containing %q", res.Err, w)
				}
			}
		})
	}
}

func TestIPCheckOnHopSaysWhyAndIgnoresPolicy(t *testing.T) {
	srv := world(t)
	k, err := NewIPCheck(Config{Resolver: resolver(t, srv), DNSBL: []List{zenList()}, DNSWL: []List{dnswlList()}})
	if err != nil {
		t.Fatal(err)
	}
	why := "first untrusted hop, via trusted relay 127.0.0.1"
	tests := []struct {
		ip   string
		want []wantSym
	}{
		{"203.0.113.7", []wantSym{{"RCVD_DNSBL_ZEN", 6, "203.0.113.7 (first untrusted hop, via trusted relay 127.0.0.1) listed on bl.test (127.0.0.2)"}}},
		{"203.0.113.8", []wantSym{{"RCVD_DNSBL_ZEN", 0, "end-user policy listing, not counted"}}},
		{"203.0.113.9", []wantSym{{"RCVD_DNSBL_ZEN", 5, "(127.0.0.4, 127.0.0.10)"}}},
		{"203.0.113.20", []wantSym{{"RCVD_DNSWL_DNSWL", -2, "(first untrusted hop"}}},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			res := k.Judge(bg, netip.MustParseAddr(tt.ip), why)
			checkSymbols(t, res.Symbols, tt.want)
		})
	}
}

func TestIPCheckAsksListsInParallel(t *testing.T) {
	srv := world(t)
	srv.Add(t, "7.113.0.203.slow1.test. 300 IN A 127.0.0.2", "7.113.0.203.slow2.test. 300 IN A 127.0.0.2")
	for _, n := range []string{"7.113.0.203.slow1.test", "7.113.0.203.slow2.test", "7.113.0.203.bl.test"} {
		srv.Behave(n, dnstest.Behaviour{Delay: 150 * time.Millisecond})
	}
	k, err := NewIPCheck(Config{Resolver: resolver(t, srv), DNSBL: []List{
		zenList(), {Zone: "slow1.test", Weight: 1}, {Zone: "slow2.test", Weight: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res := k.Judge(bg, netip.MustParseAddr("203.0.113.7"), "")
	// Each list costs 300ms (A, then TXT); one after the other 900ms.
	if d := time.Since(start); d > 700*time.Millisecond {
		t.Errorf("three 300ms lists took %v: not in parallel", d)
	}
	if len(res.Symbols) != 3 {
		t.Errorf("got %+v", res.Symbols)
	}
}

// The second message from a source is answered from the cache, inline;
// it must be judged exactly like the first.
func TestWarmCacheGivesSameVerdict(t *testing.T) {
	srv := world(t)
	r := resolver(t, srv)
	cfg := Config{Resolver: r, DNSWL: []List{dnswlList()}, URIBL: []List{dblList(), surblList()},
		DNSBL: []List{zenList(), {Zone: "public.test", Name: "PUBLIC", Weight: 6}, {Zone: "hijack.test", Name: "HIJACK", Weight: 6}}}
	ipc, err := NewIPCheck(cfg)
	if err != nil {
		t.Fatal(err)
	}
	uri, err := NewURICheck(cfg)
	if err != nil {
		t.Fatal(err)
	}
	in := &scoring.Input{ClientIP: netip.MustParseAddr("203.0.113.9"), From: "x@sender.example",
		Message: spamMessage(t, 10)}
	for _, ip := range []string{"203.0.113.7", "203.0.113.9", "203.0.113.20", "203.0.113.99"} {
		in.ClientIP = netip.MustParseAddr(ip)
		cold := ipc.Run(bg, in)
		before := r.Queries()
		warm := ipc.Run(bg, in)
		if r.Queries() != before {
			t.Errorf("%s: warm run sent %d queries", ip, r.Queries()-before)
		}
		if fmt.Sprint(cold.Symbols) != fmt.Sprint(warm.Symbols) || fmt.Sprint(cold.Err) != fmt.Sprint(warm.Err) {
			t.Errorf("%s: cold %+v %v\nwarm %+v %v", ip, cold.Symbols, cold.Err, warm.Symbols, warm.Err)
		}
	}
	cold := uri.Run(bg, in)
	before := r.Queries()
	warm := uri.Run(bg, in)
	if r.Queries() != before {
		t.Errorf("warm URIBL run sent %d queries", r.Queries()-before)
	}
	if len(cold.Symbols) == 0 || fmt.Sprint(cold.Symbols) != fmt.Sprint(warm.Symbols) {
		t.Errorf("cold %+v\nwarm %+v", cold.Symbols, warm.Symbols)
	}
}
