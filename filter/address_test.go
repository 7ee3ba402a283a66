package filter

import (
	"slices"
	"strings"
	"testing"

	"relayguard/scoring"
)

// TestEnvelopeAddressReplies is defect 7 as a transcript over a real
// socket: each (address, SMTPUTF8) pair at MAIL FROM or RCPT TO gets its
// reply code and enhanced code, and a refused address never reaches the
// next hop (the transaction then goes on with a good recipient and the
// upstream's envelope is compared).
func TestEnvelopeAddressReplies(t *testing.T) {
	long := strings.Repeat("a", 1000)
	tests := []struct {
		name     string
		cmd      string // MAIL or RCPT
		addr     string
		smtputf8 bool
		code     int
		enhanced string
	}{
		{"sender: plain", "MAIL", "a@example.org", false, 250, ""},
		{"sender: null", "MAIL", "", false, 250, ""},
		{"sender: NUL in local part", "MAIL", "a\x00b@example.org", false, 501, "5.1.7"},
		{"sender: DEL in local part", "MAIL", "a\x7fb@example.org", false, 501, "5.1.7"},
		{"sender: 1000-octet local part", "MAIL", long + "@example.org", false, 501, "5.1.7"},
		{"sender: non-ASCII without SMTPUTF8", "MAIL", "jösé@example.org", false, 553, "5.6.7"},
		{"sender: non-ASCII with SMTPUTF8", "MAIL", "jösé@example.org", true, 250, ""},
		{"sender: Kelvin sign domain", "MAIL", "a@\u212Aiosk.test", true, 501, "5.1.7"},
		{"recipient: plain", "RCPT", "user@local.example", false, 250, ""},
		{"recipient: NUL in local part", "RCPT", "us\x00er@local.example", false, 501, "5.1.3"},
		{"recipient: ESC in local part", "RCPT", "us\x1ber@local.example", false, 501, "5.1.3"},
		{"recipient: DEL in local part", "RCPT", "us\x7fer@local.example", false, 501, "5.1.3"},
		{"recipient: 65-octet local part", "RCPT", strings.Repeat("a", 65) + "@local.example", false, 501, "5.1.3"},
		{"recipient: 1000-octet local part", "RCPT", long + "@local.example", false, 501, "5.1.3"},
		{"recipient: 64-octet local part", "RCPT", strings.Repeat("a", 64) + "@local.example", false, 250, ""},
		{"recipient: 256-octet domain", "RCPT", "u@" + strings.Repeat("a.", 127) + "aa", false, 501, "5.1.3"},
		{"recipient: non-ASCII local part without SMTPUTF8", "RCPT", "üser@local.example", false, 553, "5.6.7"},
		{"recipient: non-ASCII local part with SMTPUTF8", "RCPT", "üser@local.example", true, 250, ""},
		{"recipient: U-label local domain with SMTPUTF8", "RCPT", "user@bücher.example", true, 250, ""},
		{"recipient: U-label local domain without SMTPUTF8", "RCPT", "user@bücher.example", false, 553, "5.6.7"},
		{"recipient: A-label local domain", "RCPT", "user@XN--BCHER-KVA.example", false, 250, ""},
		{"recipient: Kelvin sign is not k", "RCPT", "user@\u212Aiosk.test", true, 501, "5.1.3"},
		{"recipient: Kelvin sign without SMTPUTF8", "RCPT", "user@\u212Aiosk.test", false, 553, "5.6.7"},
		{"recipient: ASCII case folds", "RCPT", "user@KIOSK.test", false, 250, ""},
		{"recipient: upper-case U-label is not canonical", "RCPT", "user@BÜCHER.example", true, 501, "5.1.3"},
	}
	ts := startServer(t, defaultTestOptions(), scoring.DefaultPolicy(), nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, ts.addr)
			c.hello()
			param := ""
			if tt.smtputf8 {
				param = " SMTPUTF8"
			}
			from, rcpt := tt.addr, "good@local.example"
			if tt.cmd == "RCPT" {
				from = "a@example.org"
			}
			c.send("%s", "MAIL FROM:<"+from+">"+param)
			if tt.cmd == "MAIL" {
				c.expect(tt.code, tt.enhanced)
				if tt.code != 250 {
					return // no transaction: nothing can reach the next hop
				}
			} else {
				c.expect(250, "")
				c.send("%s", "RCPT TO:<"+tt.addr+">")
				c.expect(tt.code, tt.enhanced)
				if tt.code == 250 {
					rcpt = tt.addr
				}
			}
			// Go on with a recipient that is fine, and see what the next
			// hop was told.
			before := len(ts.up.messages())
			c.send("RCPT TO:<good@local.example>")
			c.expect(250, "")
			c.sendMessage(ham)
			c.expect(250, "")
			got := ts.up.messages()
			if len(got) != before+1 {
				t.Fatalf("%d messages reached the upstream, want 1", len(got)-before)
			}
			d := got[len(got)-1]
			want := []string{"good@local.example"}
			if rcpt != "good@local.example" {
				want = []string{rcpt, "good@local.example"}
			}
			if d.from != from || !slices.Equal(d.rcpts, want) {
				t.Errorf("upstream envelope %q → %q, want %q → %q", d.from, d.rcpts, from, want)
			}
		})
	}
}
