package scoring

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"relayguard/rules"
	"relayguard/rules/message"
)

func loadRules(t *testing.T, local string) *rules.Ruleset {
	t.Helper()
	var files []string
	if local != "" {
		p := filepath.Join(t.TempDir(), "local.toml")
		if err := os.WriteFile(p, []byte(local), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	rs, err := rules.Load(files, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func symbolByName(v Verdict, name string) (Symbol, bool) {
	for _, s := range v.Symbols {
		if s.Name == name {
			return s, true
		}
	}
	return Symbol{}, false
}

func TestContentChecksShape(t *testing.T) {
	checks := ContentChecks(loadRules(t, ""))
	if len(checks) != 2 {
		t.Fatalf("%d checks", len(checks))
	}
	if checks[0].Name() != "content" || checks[0].Phase() != PhaseData {
		t.Errorf("first check %s/%v, want content/data", checks[0].Name(), checks[0].Phase())
	}
	if checks[1].Name() != "meta" || checks[1].Phase() != PhaseFinal {
		t.Errorf("second check %s/%v, want meta/final", checks[1].Name(), checks[1].Phase())
	}
}

// TestContentSymbolsExplainTheMatch: a content symbol's detail is the
// rule's description and the text that matched, as the 554 reply and
// `relayguard check` show it.
func TestContentSymbolsExplainTheMatch(t *testing.T) {
	e := newTestEngine(t, time.Second, ContentChecks(loadRules(t, ""))...)
	msg := msgOf("From: a@example.org\r\nTo: b@example.net\r\nSubject: hello\r\nDate: " +
		time.Now().UTC().Format(time.RFC1123Z) + "\r\nMessage-ID: <1@example.org>\r\n\r\n" +
		"Buy v1agra from our online pharmacy today.\r\n")
	v := e.Score(Conn{SessionID: "S1"}, "a@example.org", []string{"b@example.net"}, msg)
	s, ok := symbolByName(v, "PHRASE_PHARMACY")
	if !ok {
		t.Fatalf("PHRASE_PHARMACY missing from %+v", v.Symbols)
	}
	want := `Pharmacy, pills and diet wording: "v1agra; online pharmacy"`
	if s.Detail != want {
		t.Errorf("detail %q, want %q", s.Detail, want)
	}
	if s.Score <= 0 {
		t.Errorf("score %v", s.Score)
	}
}

// TestMetaSeesOtherChecks: a meta rule may combine content rules with
// symbols of the sender checks, which only exist in the final phase.
func TestMetaSeesOtherChecks(t *testing.T) {
	rs := loadRules(t, `
[[rule]]
name = "LOCAL_IP_LINK_UNSIGNED"
kind = "meta"
expr = 'URI_IP_LITERAL && !DKIM_VALID && SPF_FAIL'
score = 4
description = "IP link in unsigned mail that failed SPF"
`)
	msg := msgOf("Subject: x\r\n\r\nhttp://192.0.2.1/login\r\n")
	run := func(extra ...Check) Verdict {
		checks := append(ContentChecks(rs), extra...)
		e := newTestEngine(t, time.Second, checks...)
		return e.Score(Conn{SessionID: "S"}, "", nil, msgOf(string(readAll(t, msg))))
	}
	v := run(fixed("spf", PhaseMail, Symbol{Name: "SPF_FAIL", Score: 1}))
	s, ok := symbolByName(v, "LOCAL_IP_LINK_UNSIGNED")
	if !ok {
		t.Fatalf("meta did not fire: %+v", v.Symbols)
	}
	if !strings.Contains(s.Detail, "URI_IP_LITERAL + SPF_FAIL") {
		t.Errorf("detail %q does not name what fired", s.Detail)
	}
	v = run(fixed("spf", PhaseMail, Symbol{Name: "SPF_FAIL", Score: 1}), fixed("dkim", PhaseData, Symbol{Name: "DKIM_VALID", Score: -1}))
	if _, ok := symbolByName(v, "LOCAL_IP_LINK_UNSIGNED"); ok {
		t.Error("meta fired although DKIM_VALID was found")
	}
	v = run()
	if _, ok := symbolByName(v, "LOCAL_IP_LINK_UNSIGNED"); ok {
		t.Error("meta fired without SPF_FAIL")
	}
}

func readAll(t *testing.T, m *message.Message) []byte {
	t.Helper()
	b := make([]byte, m.Size())
	if _, err := m.RawAt().ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSubRulesFeedMetaAcrossPhases: a __ sub-rule found by the content
// check reaches the final-phase meta check, though it is never a symbol.
func TestSubRulesFeedMetaAcrossPhases(t *testing.T) {
	rs := loadRules(t, `
[[rule]]
name = "__LOCAL_WIDGET"
kind = "body"
pattern = '(?i)\bwidgets?\b'

[[rule]]
name = "LOCAL_WIDGET_SPAM"
kind = "meta"
expr = '__LOCAL_WIDGET && URI_IP_LITERAL'
score = 3
description = "Widget offer linking to an IP"
`)
	e := newTestEngine(t, time.Second, ContentChecks(rs)...)
	v := e.Score(Conn{SessionID: "S"}, "", nil, msgOf("Subject: widgets\r\n\r\nCheap widgets at http://192.0.2.9/\r\n"))
	if _, ok := symbolByName(v, "LOCAL_WIDGET_SPAM"); !ok {
		t.Errorf("meta on a sub-rule did not fire: %+v", v.Symbols)
	}
	if _, ok := symbolByName(v, "__LOCAL_WIDGET"); ok {
		t.Error("sub-rule reported as a symbol")
	}
}

func TestContentCheckHonoursDeadline(t *testing.T) {
	c := ContentChecks(loadRules(t, ""))[0]
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := c.Run(ctx, &Input{Message: msgOf("Subject: x\r\n\r\n" + strings.Repeat("word ", 100000))})
	// Either it finished first (fast machine) or it reports the deadline;
	// it must not block.
	if res.Err == nil && len(res.Symbols) == 0 && ctx.Err() == nil {
		t.Error("neither result nor error")
	}
	if r := c.Run(context.Background(), &Input{}); r.Err != nil || len(r.Symbols) != 0 {
		t.Errorf("no message: %+v", r)
	}
}

func TestHitDetail(t *testing.T) {
	tests := []struct {
		hit  rules.Hit
		want string
	}{
		{rules.Hit{Description: "No Date header"}, "No Date header"},
		{rules.Hit{Description: "Casino", Match: "online casino"}, `Casino: "online casino"`},
		{rules.Hit{Description: "Odd", Match: "a\"b\x01"}, `Odd: "a\"b\x01"`},
	}
	for _, tt := range tests {
		if got := hitDetail(tt.hit); got != tt.want {
			t.Errorf("hitDetail(%+v) = %q, want %q", tt.hit, got, tt.want)
		}
	}
}

// TestContentSeesEnvelopeRecipients: the content rules get the envelope
// recipients, so a lure naming the recipient's own domain is found (as
// `relayguard check --rcpt` lets an operator try offline).
func TestContentSeesEnvelopeRecipients(t *testing.T) {
	e := newTestEngine(t, time.Second, ContentChecks(loadRules(t, ""))...)
	raw := "From: Mail Admin <admin@mailbox-services.example>\r\nTo: bob@acmewidgets.com\r\n" +
		"Subject: acmewidgets.com mailbox quota exceeded\r\nDate: " + time.Now().UTC().Format(time.RFC1123Z) +
		"\r\nMessage-ID: <1@mailbox-services.example>\r\n\r\nYour mailbox is full.\r\n"
	v := e.Score(Conn{SessionID: "S1"}, "admin@mailbox-services.example", []string{"bob@acmewidgets.com"}, msgOf(raw))
	if _, ok := symbolByName(v, "RCPT_DOMAIN_BAIT"); !ok {
		t.Errorf("RCPT_DOMAIN_BAIT missing with the recipient known: %+v", v.Symbols)
	}
	v = e.Score(Conn{SessionID: "S2"}, "admin@mailbox-services.example", []string{"bob@other.example"}, msgOf(raw))
	if s, ok := symbolByName(v, "RCPT_DOMAIN_BAIT"); ok {
		t.Errorf("RCPT_DOMAIN_BAIT for another recipient: %+v", s)
	}
}
