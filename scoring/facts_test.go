package scoring

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// prefixTrust is a Trust over prefix lists, as internal/access answers it.
type prefixTrust struct{ trusted, relay []netip.Prefix }

func contains(ps []netip.Prefix, ip netip.Addr) bool {
	return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Contains(ip) })
}
func (t prefixTrust) Trusted(ip netip.Addr) bool { return contains(t.trusted, ip) }
func (t prefixTrust) MayRelay(ip netip.Addr, auth bool) bool {
	return auth || contains(t.relay, ip)
}

// customerOnly scores a client like the DNSBL check does: a stranger on a
// policy list is penalised, a logged-in customer is not.
var customerOnly = CheckFunc{"dnsbl", PhaseConnect, func(_ context.Context, in *Input) Result {
	if in.AuthUser != "" {
		return Result{}
	}
	return Result{Symbols: []Symbol{{Name: "DNSBL_PBL", Score: 20}}}
}}

func TestConnectChecksJudgeTheClientAfterAuth(t *testing.T) {
	e := newTestEngine(t, time.Second, customerOnly)
	ip := netip.MustParseAddr("192.0.2.77")

	stranger := e.Begin(Conn{ClientIP: ip})
	defer stranger.Close()
	stranger.Mail("a@example.org")
	if v := stranger.Finish(msgOf("\r\n")); v.Action != ActionReject {
		t.Errorf("stranger: %s %v, want reject on the listing", v.Action, v.Symbols)
	}

	// go-smtp makes the session before AUTH: the connect checks have
	// already started when the login arrives.
	customer := e.Begin(Conn{ClientIP: ip})
	defer customer.Close()
	customer.Auth("alice")
	customer.Mail("alice@example.org")
	if v := customer.Finish(msgOf("\r\n")); v.Action != ActionAccept || len(v.Symbols) != 0 {
		t.Errorf("customer: %s %v, want accept: the checks ran before the login was known", v.Action, v.Symbols)
	}
}

func TestFactsAreWorkedOutOnce(t *testing.T) {
	trust := prefixTrust{
		trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		relay:   []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.1.0.0/16")},
	}
	forwarded := "Received: from mail.example.com (mail.example.com [203.0.113.7])\r\n" +
		"\tby relay.example.net with esmtps id 1abc; Tue, 03 Jun 2025 10:00:00 +0000\r\n\r\nbody\r\n"
	submitted := "Received: from laptop ([203.0.113.50])\r\n" +
		"\tby relay.example.net with esmtpsa id 1abd; Tue, 03 Jun 2025 10:00:00 +0000\r\n\r\nbody\r\n"
	tests := []struct {
		name         string
		ip, user     string
		msg          string
		relayed, out bool
		hop          string
	}{
		{"stranger", "198.51.100.9", "", "\r\n", false, false, ""},
		{"customer logged in", "198.51.100.9", "alice", "\r\n", false, true, ""},
		{"office network", "10.1.2.3", "", "\r\n", false, true, ""},
		{"trusted relay forwarding a stranger's mail", "127.0.0.1", "", forwarded, true, false, "203.0.113.7"},
		{"trusted relay with a customer's submission", "127.0.0.1", "", submitted, true, true, "203.0.113.50"},
		{"trusted relay, local submission", "127.0.0.1", "", "Subject: x\r\n\r\nbody\r\n", true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			seen := map[Phase]Facts{}
			record := func(p Phase) Check {
				return CheckFunc{p.String(), p, func(_ context.Context, in *Input) Result {
					mu.Lock()
					seen[p] = in.Facts
					mu.Unlock()
					return Result{}
				}}
			}
			e, err := NewEngine(Options{Policy: DefaultPolicy(), Timeout: time.Second, Trust: trust,
				Checks: []Check{record(PhaseConnect), record(PhaseMail), record(PhaseData)}})
			if err != nil {
				t.Fatal(err)
			}
			j := e.Begin(Conn{ClientIP: netip.MustParseAddr(tt.ip)})
			defer j.Close()
			if tt.user != "" {
				j.Auth(tt.user)
			}
			j.Mail("a@example.org")
			j.Rcpt("b@example.net")
			j.Finish(msgOf(tt.msg))

			// A connect run the login cancelled may still be writing.
			mu.Lock()
			data, mail := seen[PhaseData], seen[PhaseMail]
			mu.Unlock()
			if data.Relayed != tt.relayed || data.Outbound != tt.out || data.AuthUser != tt.user {
				t.Errorf("data facts = %+v, want relayed=%v outbound=%v", data, tt.relayed, tt.out)
			}
			if got := ""; data.Hop != nil {
				got = data.Hop.IP.String()
				if got != tt.hop {
					t.Errorf("hop = %s, want %q", got, tt.hop)
				}
			} else if tt.hop != "" {
				t.Errorf("no hop, want %s", tt.hop)
			}
			// Before the message, a trusted relay's mail is not yet known
			// to be ours; anyone else's is decided from the start.
			wantEarly := tt.out && !tt.relayed
			if m := mail; m.Outbound != wantEarly || m.Hop != nil {
				t.Errorf("mail-phase facts = %+v, want outbound=%v and no hop yet", m, wantEarly)
			}
		})
	}
}

func TestRecipientChecksRunPerRecipient(t *testing.T) {
	var n atomic.Int32
	perRcpt := CheckFunc{"rcpt", PhaseRcpt, func(_ context.Context, in *Input) Result {
		n.Add(1)
		if in.Rcpt == "forward@yahoo.example" {
			return Result{Symbols: []Symbol{{Name: "FORWARDED", Score: 1}}}
		}
		return Result{}
	}}
	j := newTestEngine(t, time.Second, perRcpt).Begin(Conn{})
	defer j.Close()
	j.Mail("a@example.org")
	j.Rcpt("local@example.com")
	j.Rcpt("forward@yahoo.example")
	if v := j.Early(); v.Score != 1 {
		t.Errorf("Early = %v %v, want the recipient check's symbol", v.Score, v.Symbols)
	}
	v := j.Finish(msgOf("\r\n"))
	if v.Score != 1 || n.Load() != 2 {
		t.Errorf("score %v after %d runs, want 1 after 2", v.Score, n.Load())
	}
	j.Reset()
	j.Mail("b@example.org")
	if v := j.Finish(msgOf("\r\n")); v.Score != 0 {
		t.Errorf("recipient results leaked into the next transaction: %v", v.Symbols)
	}
}
