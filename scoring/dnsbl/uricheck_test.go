package dnsbl

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	parsed "relayguard/rules/message"
	"relayguard/scoring"
	"relayguard/scoring/dns/dnstest"
)

func testMessage(t testing.TB, header, body string) *parsed.Message {
	t.Helper()
	raw := []byte(strings.ReplaceAll(header, "\n", "\r\n") + "\r\n\r\n" + body)
	return parsed.ParseMessage(bytes.NewReader(raw), int64(len(raw)))
}

// hosts makes a Config.Links that returns fixed link hosts.
func hosts(h ...string) func(*parsed.Message) []string {
	return func(*parsed.Message) []string { return h }
}

func TestURICheckFindsListedDomains(t *testing.T) {
	srv := world(t)
	r := resolver(t, srv)
	tests := []struct {
		name       string
		links      []string
		from       string
		fromHeader string
		want       []wantSym
		wantErr    bool
	}{
		{"link domain listed, with TXT",
			[]string{"www.example.biz"}, "", "x@clean.example",
			[]wantSym{
				{"URIBL_DBL", 6, "link domain example.biz listed on dbl.test (127.0.1.2): https://www.spamhaus.org/query/domain/example.biz"},
				{"URIBL_SURBL", 6, "link domain example.biz listed on multi.test (127.0.0.24)"},
			}, false},
		{"registrable domain asked, not the host",
			[]string{"a.b.c.phish.example"}, "", "x@clean.example",
			[]wantSym{{"URIBL_DBL", 8, "link domain phish.example listed on dbl.test (127.0.1.4)"}}, false},
		{"strongest listing leads, others named",
			[]string{"example.biz", "phish.example", "cheap.example"}, "", "x@clean.example",
			[]wantSym{
				{"URIBL_DBL", 8, "link domain phish.example listed on dbl.test (127.0.1.4); also example.biz"},
				{"URIBL_SURBL", 6, "example.biz listed on multi.test (127.0.0.24); also cheap.example"},
			}, false},
		{"MAIL FROM domain",
			nil, "bounce@mail.sender.example", "x@clean.example",
			[]wantSym{{"URIBL_DBL", 6, "MAIL FROM domain sender.example listed on dbl.test"}}, false},
		{"From header domain when MAIL FROM is null",
			nil, "", "Sender <someone@Sender.Example>",
			[]wantSym{{"URIBL_DBL", 6, "From header domain sender.example listed"}}, false},
		{"IP link asked of the DNSBLs",
			[]string{"203.0.113.7"}, "", "x@clean.example",
			[]wantSym{{"URIBL_IP_ZEN", 6, "link IP 203.0.113.7 listed on bl.test (127.0.0.2)"}}, false},
		{"IP link on a policy list weighs nothing",
			[]string{"[203.0.113.8]"}, "", "x@clean.example",
			[]wantSym{{"URIBL_IP_ZEN", 0, "link IP 203.0.113.8"}}, false},
		{"private IP and bare suffixes ignored",
			[]string{"192.168.1.1", "co.uk", "localhost", "", "xn--bad..", "[fe80::1%eth0]"}, "", "x@clean.example",
			nil, false},
		{"clean links",
			[]string{"www.clean.example", "clean.example"}, "", "x@clean.example",
			nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMessage(t, "From: "+tt.fromHeader, "")
			k, err := NewURICheck(Config{Resolver: r, URIBL: []List{dblList(), surblList()}, DNSBL: []List{zenList()}, Links: hosts(tt.links...)})
			if err != nil {
				t.Fatal(err)
			}
			if k.Name() != "uribl" || k.Phase() != scoring.PhaseData {
				t.Errorf("check %s at %v", k.Name(), k.Phase())
			}
			res := k.Run(bg, withFacts(&scoring.Input{From: tt.from, Message: m}))
			checkSymbols(t, res.Symbols, tt.want)
			if (res.Err != nil) != tt.wantErr {
				t.Errorf("Err = %v", res.Err)
			}
		})
	}
}

func TestURICheckCapsLookupsMostFrequentFirst(t *testing.T) {
	srv := world(t)
	r := resolver(t, srv)
	// 200 links over 50 domains; the listed one appears most often but
	// last, so only frequency puts it inside the cap.
	var links []string
	for i := range 50 {
		for range 3 {
			links = append(links, fmt.Sprintf("www.filler%d.example", i))
		}
	}
	for range 50 {
		links = append(links, "click.example.biz")
	}
	k, err := NewURICheck(Config{Resolver: r, URIBL: []List{dblList()}, MaxLookups: 5, Links: hosts(links...)})
	if err != nil {
		t.Fatal(err)
	}
	res := k.Run(bg, &scoring.Input{From: "a@sender.example", Message: testMessage(t, "From: a@sender.example", "")})
	checkSymbols(t, res.Symbols, []wantSym{{"URIBL_DBL", 6, "sender.example"}})
	if !strings.Contains(res.Symbols[0].Detail, "also example.biz") {
		t.Errorf("the most frequent link domain was not checked: %q", res.Symbols[0].Detail)
	}
	if n := srv.QueriesUnder("dbl.test"); n > 5+2 { // 5 A queries, TXT for 2 listings
		t.Errorf("%d queries for a cap of 5 names", n)
	}
	got := k.targets(&scoring.Input{From: "a@sender.example", Message: testMessage(t, "From: a@sender.example", "")})
	var names []string
	for _, g := range got {
		names = append(names, g.name)
	}
	want := "sender.example example.biz filler0.example filler1.example filler2.example"
	if strings.Join(names, " ") != want {
		t.Errorf("targets %v, want %s", names, want)
	}
}

func TestURICheckFailingListReportedOnce(t *testing.T) {
	srv := world(t)
	for _, d := range []string{"a.example", "b.example", "c.example"} {
		srv.Behave(d+".down.test", dnstest.Behaviour{Rcode: 2})
	}
	r := resolver(t, srv)
	k, err := NewURICheck(Config{Resolver: r, URIBL: []List{dblList(), {Zone: "down.test", Name: "DOWN", Weight: 5}},
		Links: hosts("a.example", "b.example", "c.example", "example.biz")})
	if err != nil {
		t.Fatal(err)
	}
	res := k.Run(bg, &scoring.Input{Message: testMessage(t, "Subject: x", "")})
	checkSymbols(t, res.Symbols, []wantSym{
		{"URIBL_DBL", 6, "example.biz"},
		{"URIBL_DOWN_TEMPFAIL", 0, "3 of the message's names could not be checked on down.test"},
	})
	if res.Err == nil || !strings.Contains(res.Err.Error(), "and 2 more lookups failed") {
		t.Errorf("Err = %v", res.Err)
	}
}

// The default Links comes from the rules package's link extraction.
func TestURICheckReadsMessageLinks(t *testing.T) {
	srv := world(t)
	k, err := NewURICheck(Config{Resolver: resolver(t, srv), URIBL: []List{dblList()}})
	if err != nil {
		t.Fatal(err)
	}
	m := testMessage(t, "From: a@clean.example\nContent-Type: text/plain", "Buy now at https://shop.example.biz/deal and https://clean.example/\r\n")
	res := k.Run(bg, &scoring.Input{Message: m})
	checkSymbols(t, res.Symbols, []wantSym{{"URIBL_DBL", 6, "link domain example.biz"}})
}

// withFacts fills in what the engine works out from the message.
func withFacts(in *scoring.Input) *scoring.Input {
	in.FromDomains = in.Message.From().Domains
	return in
}
