package lists

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/authres"

	"relayguard/rules/message"
	"relayguard/scoring"
	"relayguard/scoring/auth"
)

func TestIPSetMatchesAddressesAndNetworks(t *testing.T) {
	var s IPSet
	for _, e := range []string{"192.0.2.7", "198.51.100.0/24", "2001:db8:1::/48", "2001:db8::9"} {
		if err := s.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"192.0.2.7", true},
		{"192.0.2.8", false},
		{"198.51.100.200", true},
		{"198.51.101.1", false},
		{"::ffff:198.51.100.1", true}, // v4-mapped is the v4 client
		{"2001:db8:1:ffff::1", true},
		{"2001:db8:2::1", false},
		{"2001:db8::9", true},
		{"2001:db8::a", false},
	} {
		if _, got := s.Match(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("Match(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
	if _, ok := s.Match(netip.Addr{}); ok {
		t.Error("an unknown client address matched")
	}
}

func TestBadEntriesRefused(t *testing.T) {
	var ips IPSet
	for _, e := range []string{"192.0.2.300", "198.51.100.0/33", "example.com", ""} {
		if err := ips.Add(e); err == nil {
			t.Errorf("IP entry %q accepted", e)
		}
	}
	var addrs AddrSet
	for _, e := range []string{"a@b@", "@example.com", "exa mple.com", "a@", "-bad-.example", "\u212Aiosk.example"} {
		if err := addrs.Add(e); err == nil {
			t.Errorf("address entry %q accepted", e)
		}
	}
}

func TestAddrSetDomainsSubdomainsCaseAndIDN(t *testing.T) {
	var s AddrSet
	for _, e := range []string{"Partner.Example", ".trusted.example", "CEO@Corp.Example", "bücher.example"} {
		if err := s.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"anyone@partner.example", true},
		{"anyone@PARTNER.EXAMPLE", true},
		{"anyone@mail.partner.example", false}, // no leading dot: the domain only
		{"x@trusted.example", true},            // leading dot: the domain too
		{"x@a.b.trusted.example", true},
		{"x@untrusted.example", false}, // a suffix, not a subdomain
		{"ceo@corp.example", true},
		{"Ceo@CORP.example", true},
		{"cfo@corp.example", false},
		{"x@xn--bcher-kva.example", true}, // the A-label of the entry's U-label
		{"x@BÜCHER.example", true},        // mapped as a mail reader would (UTS #46)
		{"x@bücher.example", true},
		{"", false},
	} {
		if _, got := s.MatchAddress(tc.addr); got != tc.want {
			t.Errorf("MatchAddress(%q) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

func TestReadEntriesSkipsCommentsAndNamesTheBadLine(t *testing.T) {
	var s IPSet
	err := ReadEntries(strings.NewReader("# partners\n192.0.2.1 # mx1\n\n  198.51.100.0/24\nnot-an-ip\n"), "allow.txt", s.Add)
	if err == nil || !strings.Contains(err.Error(), "allow.txt:5:") {
		t.Fatalf("err = %v, want one naming allow.txt:5", err)
	}
	if s.Len() != 2 {
		t.Errorf("%d entries before the bad line, want 2", s.Len())
	}
}

func TestNewReadsFilesAndRefusesUnknownScores(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "block_ips")
	if err := os.WriteFile(f, []byte("203.0.113.0/24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := New(Options{BlockIPsFile: f})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.blockIPs.Match(netip.MustParseAddr("203.0.113.9")); !ok {
		t.Error("entry from the file not loaded")
	}
	if _, err := New(Options{BlockIPsFile: filepath.Join(dir, "missing")}); err == nil || !strings.Contains(err.Error(), "block_ips_file") {
		t.Errorf("missing file: err = %v", err)
	}
	if _, err := New(Options{Scores: map[string]float64{"ALLOW_EVERYONE": 1}}); err == nil {
		t.Error("unknown score name accepted")
	}
	if l, _ := New(Options{}); l.Checks() != nil {
		t.Error("empty lists run checks")
	}
}

// fakeAuth publishes the SPF and DKIM findings the sender check awaits.
func fakeAuth(spfDomain string, dkim ...string) []scoring.Check {
	return []scoring.Check{
		scoring.CheckFunc{CheckName: auth.CheckSPF, CheckPhase: scoring.PhaseMail, Fn: func(context.Context, *scoring.Input) scoring.Result {
			var r scoring.Result
			out := &auth.SPFOutcome{Result: spf.None}
			if spfDomain != "" {
				out = &auth.SPFOutcome{Result: spf.Pass, Domain: spfDomain}
			}
			scoring.Publish(&r, auth.SPFResult, out)
			return r
		}},
		scoring.CheckFunc{CheckName: auth.CheckDKIM, CheckPhase: scoring.PhaseData, Fn: func(context.Context, *scoring.Input) scoring.Result {
			var r scoring.Result
			out := &auth.DKIMOutcome{}
			for _, d := range dkim {
				out.Signatures = append(out.Signatures, auth.DKIMSignature{Domain: d, Result: authres.ResultPass})
			}
			scoring.Publish(&r, auth.DKIMResult, out)
			return r
		}},
	}
}

func symbolsOf(t *testing.T, l *Lists, extra []scoring.Check, ip, from, headerFrom, rcpt string) []string {
	t.Helper()
	e, err := scoring.NewEngine(scoring.Options{Policy: scoring.DefaultPolicy(), Timeout: 5 * time.Second,
		Checks: append(l.Checks(), extra...)})
	if err != nil {
		t.Fatal(err)
	}
	raw := "From: <" + headerFrom + ">\r\nSubject: hi\r\n\r\nhello\r\n"
	msg := message.ParseMessage(strings.NewReader(raw), int64(len(raw)))
	v := e.Score(scoring.Conn{ClientIP: netip.MustParseAddr(ip)}, from, []string{rcpt}, msg)
	var names []string
	for _, s := range v.Symbols {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	return names
}

func TestSenderAllowCountsOnlyWhenAuthenticated(t *testing.T) {
	l, err := New(Options{AllowSenders: []string{"partner.example", "boss@corp.example"},
		BlockSenders: []string{".spam.example"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name             string
		from, headerFrom string
		auth             []scoring.Check
		want             []string
	}{
		{"SPF pass for the envelope domain", "news@partner.example", "news@partner.example", fakeAuth("partner.example"), []string{SymAllowSender}},
		{"DKIM pass for the From domain", "bounce@esp.example", "news@partner.example", fakeAuth("esp.example", "partner.example"), []string{SymAllowSender}},
		{"DKIM pass by a parent domain", "x@esp.example", "boss@corp.example", fakeAuth("", "corp.example"), []string{SymAllowSender}},
		{"forged, nothing authenticated", "news@partner.example", "news@partner.example", fakeAuth(""), []string{SymAllowSenderUnauth}},
		{"SPF pass for another domain", "x@esp.example", "news@partner.example", fakeAuth("esp.example"), []string{SymAllowSenderUnauth}},
		{"DKIM by a subdomain does not cover the parent", "x@esp.example", "news@partner.example", fakeAuth("", "mail.partner.example"), []string{SymAllowSenderUnauth}},
		{"no auth checks configured", "news@partner.example", "news@partner.example", nil, []string{SymAllowSenderUnauth}},
		{"other address of an allowed address's domain", "cfo@corp.example", "cfo@corp.example", fakeAuth("corp.example"), nil},
		{"block wins and needs no authentication", "news@partner.example", "a@x.spam.example", fakeAuth("partner.example"), []string{SymBlockSender}},
		{"not listed", "a@other.example", "a@other.example", fakeAuth("other.example"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := symbolsOf(t, l, tc.auth, "192.0.2.1", tc.from, tc.headerFrom, "rcpt@example.net")
			if !slices.Equal(got, tc.want) {
				t.Errorf("symbols %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIPAndRecipientSymbolsAndScores(t *testing.T) {
	l, err := New(Options{AllowIPs: []string{"192.0.2.0/24"}, BlockIPs: []string{"192.0.2.66"},
		AllowRecipients: []string{"postmaster@example.net"}, BlockRecipients: []string{"old.example.net"},
		Scores: map[string]float64{SymBlockIP: 50}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ip, rcpt string
		want           []string
	}{
		{"allowed network", "192.0.2.1", "a@example.net", []string{SymAllowIP}},
		{"blocked host inside an allowed network", "192.0.2.66", "a@example.net", []string{SymBlockIP}},
		{"allowed recipient", "203.0.113.1", "Postmaster@example.net", []string{SymAllowRcpt}},
		{"nothing listed", "203.0.113.1", "a@example.net", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := symbolsOf(t, l, nil, tc.ip, "", "x@y.example", tc.rcpt)
			if !slices.Equal(got, tc.want) {
				t.Errorf("symbols %v, want %v", got, tc.want)
			}
		})
	}
	if l.Scores()[SymBlockIP] != 50 {
		t.Error("[scores] override not applied")
	}
	// A blocked recipient is refused alone, at RCPT, not scored.
	if sym, ok := l.RefuseRcpt("A@Old.Example.Net"); !ok || sym.Name != SymBlockRcpt || sym.Score != 100 {
		t.Errorf("RefuseRcpt(blocked) = %+v %v, want %s", sym, ok, SymBlockRcpt)
	}
	if _, ok := l.RefuseRcpt("a@example.net"); ok {
		t.Error("RefuseRcpt refused a recipient not on the list")
	}
}

// One verdict per message: two allowed recipients are one ALLOW_RCPT, not
// twice the allowance.
func TestAllowedRecipientsCountOnce(t *testing.T) {
	l, err := New(Options{AllowRecipients: []string{"postmaster@example.net", "abuse@example.net"}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := scoring.NewEngine(scoring.Options{Policy: scoring.DefaultPolicy(), Timeout: 5 * time.Second, Checks: l.Checks()})
	if err != nil {
		t.Fatal(err)
	}
	raw := "From: <a@x.example>\r\nSubject: hi\r\n\r\nhello\r\n"
	msg := message.ParseMessage(strings.NewReader(raw), int64(len(raw)))
	v := e.Score(scoring.Conn{ClientIP: netip.MustParseAddr("203.0.113.1")}, "a@x.example",
		[]string{"postmaster@example.net", "abuse@example.net", "bob@example.net"}, msg)
	if len(v.Symbols) != 1 || v.Symbols[0].Name != SymAllowRcpt || v.Score != -100 {
		t.Fatalf("symbols %+v score %v, want one ALLOW_RCPT of -100", v.Symbols, v.Score)
	}
	if d := v.Symbols[0].Detail; !strings.Contains(d, "postmaster@example.net, abuse@example.net") {
		t.Errorf("detail %q does not name both recipients", d)
	}
}

func FuzzReadEntries(f *testing.F) {
	f.Add("# c\n192.0.2.1\n.example.com\nuser@bücher.example\n")
	f.Add("2001:db8::/32 # v6\n\x00\n")
	f.Fuzz(func(t *testing.T, text string) {
		var ips IPSet
		var addrs AddrSet
		_ = ReadEntries(strings.NewReader(text), "f", ips.Add)
		_ = ReadEntries(strings.NewReader(text), "f", addrs.Add)
		for e := range strings.SplitSeq(text, "\n") {
			if _, ok := addrs.MatchAddress(e); ok && addrs.Len() == 0 {
				t.Fatalf("%q matched an empty set", e)
			}
		}
	})
}
