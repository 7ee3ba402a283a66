package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hitsEnv is hitsOf with envelope recipients.
func hitsEnv(rs *Ruleset, raw string, rcpts []string) map[string]Hit {
	m := parse(raw)
	out := map[string]Hit{}
	for _, h := range rs.EvaluateEnvelope(m, Envelope{Received: received, Rcpts: rcpts}) {
		out[h.Name] = h
	}
	return out
}

// brandRules are the symbols of the brand and look-alike heuristics.
var brandRules = []string{"BRAND_FROM_NAME", "BRAND_SUBJECT", "BRAND_LINKS_ELSEWHERE", "BRAND_REPLYTO_FREEMAIL",
	"RCPT_DOMAIN_BAIT", "LOOKALIKE_BRAND_DOMAIN", "LOOKALIKE_RCPT_DOMAIN", "PUNYCODE_HOST", "MIXED_SCRIPT_HOST"}

// TestBrandImpersonation checks each brand and look-alike rule on the
// lure it is for, with the legitimate mail it must leave alone beside it.
func TestBrandImpersonation(t *testing.T) {
	rs := defaultRuleset(t)
	html := "Content-Type: text/html; charset=utf-8\nMIME-Version: 1.0"
	tests := []struct {
		name   string
		raw    string
		rcpts  []string
		fire   []string
		silent []string // "*": none of brandRules
		match  map[string]string
	}{
		// ---- the From display name
		{
			name:  "From name claims PayPal from an unrelated domain",
			raw:   mkmail("From: PayPal Service <service@secure-mail-center.example>\nSubject: Account limited", "Log in to restore access: http://restore-access.example/login\n"),
			fire:  []string{"BRAND_FROM_NAME", "BRAND_LINKS_ELSEWHERE"},
			match: map[string]string{"BRAND_FROM_NAME": "is not PayPal"},
		},
		{
			name: "comma trick keeps the brand in the name the reader sees",
			raw:  mkmail("From: Microsoft account team ,_<d3i3y@k767d1w1so.com>\nSubject: Unusual sign-in activity", "Review the activity.\n"),
			fire: []string{"BRAND_FROM_NAME"},
		},
		{
			name: "brand name with a domain nobody owns",
			raw:  mkmail("From: Correios <notificacoes@correios>\nSubject: Encomenda retida", "Pague a taxa.\n"),
			fire: []string{"BRAND_FROM_NAME"},
		},
		{
			name: "a display name that is all the brand's name",
			raw:  mkmail("From: Ledger <support@wallet-sync.example>\nSubject: Action required", "Sync your recovery phrase.\n"),
			fire: []string{"BRAND_FROM_NAME"},
		},
		{
			name: "FP: a bank's own notification from its own domain",
			raw: mkmail("From: Santander <avisos@comunicacao.santander.com.br>\nSubject: Santander: sua fatura chegou",
				"Olá, sua fatura do cartão Santander está disponível em https://www.santander.com.br/fatura\n"),
			silent: []string{"*"},
		},
		{
			name: "FP: Portuguese ham from a Brazilian bank's real domain",
			raw: mkmail("From: =?UTF-8?Q?Ita=C3=BA_Unibanco?= <comunicado@itau.com.br>\nSubject: =?UTF-8?Q?Seu_extrato_de_mar=C3=A7o_est=C3=A1_dispon=C3=ADvel?=",
				"Olá, Maria. Seu extrato mensal da conta Itaú já está disponível no app e em https://www.itau.com.br/extrato. Obrigado por ser cliente.\n"),
			silent: []string{"*"},
		},
		{
			name:   "FP: the sender's own address as the display name",
			raw:    mkmail("From: \"vsun...@gmail.com\" <vsuneja63@gmail.com>\nSubject: Re: build fails", "It builds now.\n"),
			silent: []string{"*"},
		},
		{
			name:   "FP: a newsletter named after its topic, sent from its own domain",
			raw:    mkmail("From: Lockergnome Apple Core <subscriptions@lockergnome.com>\nSubject: This week", "News about Macs. http://www.lockergnome.com/issues/\n"),
			silent: []string{"BRAND_FROM_NAME"},
		},
		{
			name:   "FP: a brand's mail sent through an e-mail service provider",
			raw:    mkmail(html+"\nFrom: Spotify <no-reply@em.sendgrid.net>\nSubject: Your Spotify receipt", `<p>Thanks for your Spotify Premium payment.</p><p><a href="https://u123.ct.sendgrid.net/ls/click?upn=abc">View receipt</a></p>`),
			silent: []string{"*"},
		},
		{
			name:   "FP: a person whose first name is a bank's",
			raw:    mkmail("From: Chase Miller <chase@miller-consulting.com>\nSubject: Invoice for March", "Attached is the invoice.\n"),
			silent: []string{"*"},
		},
		// ---- Subject and text
		{
			name:  "subject names a parcel carrier the sender is not",
			raw:   mkmail("From: Customer Care <care@notify-center.example>\nSubject: DHL: your parcel is on hold", "Pay the customs fee at http://parcel-fee.example/pay\n"),
			fire:  []string{"BRAND_SUBJECT", "BRAND_LINKS_ELSEWHERE"},
			match: map[string]string{"BRAND_LINKS_ELSEWHERE": "names DHL, links go to parcel-fee.example"},
		},
		{
			name: "FP: a shop newsletter naming a partner brand, linking to itself",
			raw: mkmail(html+"\nFrom: Shop Weekly <news@shopweekly.com>\nSubject: Now you can pay with PayPal",
				`<h1>Pay with PayPal at checkout</h1><p>Our spring sale is on. <a href="https://www.shopweekly.com/sale">Shop now</a> <a href="https://www.shopweekly.com/unsubscribe">Unsubscribe</a></p>`),
			silent: []string{"*"},
		},
		{
			name:   "FP: a list post discussing a brand everyone writes about",
			raw:    mkmail("From: Jan <jan@example.org>\nSubject: Google Summer of Code ideas", "Google accepted us again. Ideas at https://wiki.example.org/gsoc\n"),
			silent: []string{"*"},
		},
		{
			name: "replies to free mail while claiming a brand",
			raw:  mkmail("From: Netflix Billing <billing@streamhelp.example>\nReply-To: netflix.billing.help@gmail.com\nSubject: Payment declined", "Reply with your card details.\n"),
			fire: []string{"BRAND_FROM_NAME", "BRAND_REPLYTO_FREEMAIL"},
		},
		// ---- the recipient's own domain as bait
		{
			name:  "recipient's domain in the subject, sent from elsewhere",
			raw:   mkmail("From: Mail Administrator <admin@mailbox-services.example>\nSubject: acmewidgets.com mailbox quota exceeded", "Your mailbox is full.\n"),
			rcpts: []string{"bob@acmewidgets.com"},
			fire:  []string{"RCPT_DOMAIN_BAIT"},
			match: map[string]string{"RCPT_DOMAIN_BAIT": "subject names acmewidgets.com"},
		},
		{
			name:   "FP: the recipient's own IT department",
			raw:    mkmail("From: IT <it@acmewidgets.com>\nSubject: acmewidgets.com mail maintenance tonight", "Short outage at 22:00.\n"),
			rcpts:  []string{"bob@acmewidgets.com"},
			silent: []string{"*"},
		},
		{
			name:   "FP: free-mail recipients have no company to pose as",
			raw:    mkmail("From: Admin <admin@mailbox-services.example>\nSubject: Gmail storage notice", "Notice.\n"),
			rcpts:  []string{"bob@gmail.com"},
			silent: []string{"RCPT_DOMAIN_BAIT", "LOOKALIKE_RCPT_DOMAIN"},
		},
		{
			name:  "a sender domain one letter off the recipient's",
			raw:   mkmail("From: IT Support <it@acmewidgetz.com>\nSubject: Password expiry", "Renew your password.\n"),
			rcpts: []string{"bob@acmewidgets.com"},
			fire:  []string{"LOOKALIKE_RCPT_DOMAIN"},
		},
		// ---- look-alike domains
		{
			name:  "digit for letter in a link",
			raw:   mkmail("", "Sign in at http://paypa1.com/signin\n"),
			fire:  []string{"LOOKALIKE_BRAND_DOMAIN"},
			match: map[string]string{"LOOKALIKE_BRAND_DOMAIN": "paypa1.com looks like paypal"},
		},
		{
			name: "Cyrillic letter in a link's domain",
			raw:  mkmail(html, `<p>Sign in at <a href="http://pаypal.com/signin">your account</a></p>`),
			fire: []string{"LOOKALIKE_BRAND_DOMAIN", "MIXED_SCRIPT_HOST", "PUNYCODE_HOST"},
		},
		{
			name: "a brand's domain worn as a subdomain",
			raw:  mkmail("", "Verify at http://www.paypal.com.account-verify.example/\n"),
			fire: []string{"LOOKALIKE_BRAND_DOMAIN"},
		},
		{
			name: "brand name in a hyphenated domain of a message claiming it",
			raw:  mkmail("From: Amazon <orders@amazon-billing.com>\nSubject: Order cancelled", "See details.\n"),
			fire: []string{"LOOKALIKE_BRAND_DOMAIN", "BRAND_FROM_NAME"},
		},
		{
			name: "one letter off a brand the message names",
			raw:  mkmail("From: Netflix <info@netflx.com>\nSubject: Update your payment", "Update it now.\n"),
			fire: []string{"LOOKALIKE_BRAND_DOMAIN"},
		},
		{
			name:   "FP: one letter off a brand the message does not name",
			raw:    mkmail("", "Our project page: http://www.apples.com/ and http://big-apple-pizza.com/menu\n"),
			silent: []string{"LOOKALIKE_BRAND_DOMAIN"},
		},
		{
			name:   "FP: a German umlaut domain is no look-alike",
			raw:    mkmail("From: =?UTF-8?Q?B=C3=A4ckerei_M=C3=BCller?= <info@xn--mller-kva.de>\nSubject: Unser Angebot", "Frische Brötchen: http://www.bäckerei-müller.de/angebot\n"),
			silent: []string{"LOOKALIKE_BRAND_DOMAIN", "MIXED_SCRIPT_HOST", "BRAND_FROM_NAME", "BRAND_LINKS_ELSEWHERE"},
		},
		{
			name:   "FP: a brand's project pages on a hosting suffix",
			raw:    mkmail("From: Dev <dev@example.org>\nSubject: Microsoft docs moved", "See https://microsoft.github.io/project/\n"),
			silent: []string{"LOOKALIKE_BRAND_DOMAIN"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			silent := tt.silent
			if len(silent) == 1 && silent[0] == "*" {
				silent = brandRules
			}
			checkHits(t, hitsEnv(rs, tt.raw, tt.rcpts), tt.fire, silent, tt.match)
		})
	}
}

// TestBrandTablesInRuleFiles: an operator's [[brand]] adds a brand,
// replaces a built-in one, or turns it off; mistakes are reported with
// their line.
func TestBrandTablesInRuleFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	local := write("local.toml", `
[[brand]]
name = "Example Bank"
words = ["example bank"]
domains = ["examplebank.com"]

[[brand]]
name = "PayPal"
words = []
`)
	rs, err := Load([]string{local}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hits := hitsEnv(rs, mkmail("From: Example Bank <alerts@secure-login.example>", "Log in.\n"), nil)
	if _, ok := hits["BRAND_FROM_NAME"]; !ok {
		t.Errorf("the operator's brand is not claimed: %v", hitNames(hits))
	}
	hits = hitsEnv(rs, mkmail("From: Example Bank <alerts@mail.examplebank.com>", "Log in.\n"), nil)
	if _, ok := hits["BRAND_FROM_NAME"]; ok {
		t.Errorf("the operator's brand's own domain fired")
	}
	hits = hitsEnv(rs, mkmail("From: PayPal <service@secure-login.example>", "Log in.\n"), nil)
	if _, ok := hits["BRAND_FROM_NAME"]; ok {
		t.Errorf("a brand turned off with words = [] still fires")
	}

	bad := write("bad.toml", "[[rule]]\nname = \"X\"\nkind = \"body\"\npattern = 'x'\nscore = 1\ndescription = \"x\"\n\n[[brand]]\nname = \"Broken\"\nwords = [\"broken\"]\ndomains = [\"not a domain\"]\ncolour = \"red\"\n")
	_, err = Load([]string{bad}, Options{})
	if err == nil {
		t.Fatal("a broken [[brand]] loaded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "bad.toml:8") || !strings.Contains(msg, `unknown field "colour"`) {
		t.Errorf("error does not name the brand's line and field: %s", msg)
	}
	bad2 := write("bad2.toml", "[[brand]]\nname = \"Broken\"\nwords = [\"broken\"]\ndomains = [\"not a domain\"]\n")
	if _, err := Load([]string{bad2}, Options{}); err == nil || !strings.Contains(err.Error(), "bad2.toml:1") || !strings.Contains(err.Error(), "not a domain name") {
		t.Errorf("bad domain: %v", err)
	}
}
