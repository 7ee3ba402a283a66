package bounce

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// want is what a sample must explain; empty fields are not checked,
// except where noted.
type want struct {
	format   string
	failures int // 0: exactly 1
	rcpt     string
	host     string
	ip       string
	code     int
	enhanced string
	stage    string
	category Category
	list     string
	page     string
	listed   string
	score    string
	suggest  string
	text     string // a piece of the remote's text
	advice   string // a piece of the advice
}

// samples: testdata/samples/seed-* are the bounces quoted in
// /work/shared/seed/why-mail-servers-get-blacklisted.txt, verbatim
// (addresses there were already replaced by "[email protected]" in the
// page). The others are written from the formats:
//   - dsn-*: RFC 3464 §2-3 (Postfix's bounce(8) report and a sendmail-style
//     one; dsn-pasted-* is the delivery-status part pasted alone).
//   - exim-*, cpanel-*: Exim's default bounce text (src/deliver.c; cPanel
//     ships Exim unchanged), one block per address with "host N [IP]" and
//     "SMTP error from remote mail server after STAGE:".
//   - postfix-*: Postfix bounce_template.cf and smtp_proto.c's "host N[IP]
//     said: ... (in reply to X command)", wrapped as Postfix wraps; the
//     Gmail replies in them are Gmail's 550-5.7.1 / 5.7.26 / 4.7.28 texts
//     (support.google.com/mail/answer/3726730).
//   - exchange-*: Exchange/Microsoft 365 NDRs ("Delivery has failed to
//     these recipients or groups", "Remote Server returned '...'") with
//     Outlook.com's S3150 text.
//   - gmail-*: Gmail's own bounce ("Address not found", "The response from
//     the remote server was:").
//   - yahoo-*: Yahoo's TSS04/TSS09 replies (senders.yahooinc.com error
//     codes) and its bounce ("Sorry, we were unable to deliver...").
//   - line-*: single SMTP replies as support desks get them pasted:
//     Postfix's reject_rbl_client text, Proofpoint, Cloudmark, PSBL,
//     Outlook.com S3140, RFC 7372's 5.7.23, a content filter, greylisting.
var samples = map[string]want{
	"seed-classified-as-spam.txt": {format: "Exchange", host: "5001.newipdns.com", category: SpamContent, score: "120",
		text: "classified as SPAM", advice: "score 120"},
	"seed-senderbase.txt": {format: "Exim", host: "dcmxppheip005.imr.gm.com", code: 554, stage: "connect",
		category: Reputation, list: "Cisco Talos (SenderBase)", page: "https://talosintelligence.com/reputation_center/",
		text: "low SenderBase Reputation score (below -1)"},
	"seed-poor-reputation.txt": {format: "Exim", host: "mailhost.bnpparibas-pf.com.mx", code: 554, stage: "connect",
		category: Reputation, text: "poor reputation"},
	"seed-ivmuri.txt": {format: "Exim", host: "mx2.supremebox.com", code: 550, stage: "RCPT TO",
		category: Blocklist, list: "invaluement", page: "https://www.invaluement.com/lookup/",
		text: "Sender host (bh-in-9.webhostbox.net) blacklisted at ivmURI"},
	"seed-cut-short.txt": {format: "Exim", category: Unknown, advice: "paste the whole bounce"},

	"dsn-postfix-user-unknown.eml": {format: "RFC 3464 delivery status", rcpt: "jon@gmial.com", host: "mx.gmial.com",
		code: 550, enhanced: "5.1.1", category: UnknownRecipient, suggest: "jon@gmail.com", advice: "did you mean jon@gmail.com?"},
	"dsn-spamhaus.eml": {format: "RFC 3464 delivery status", rcpt: "carol@example.org", host: "mx.example.org",
		code: 554, enhanced: "5.7.1", category: Blocklist, list: "Spamhaus ZEN", page: "https://check.spamhaus.org/",
		listed: "203.0.113.5"},
	"dsn-pasted-greylist.txt": {format: "RFC 3464 delivery status", rcpt: "bob@example.org", host: "mx.example.org",
		code: 450, enhanced: "4.2.0", category: Greylisted},
	"exim-spamcop.txt": {format: "Exim", rcpt: "erin@example.com", host: "mx1.example.com", ip: "198.51.100.7",
		code: 550, enhanced: "5.7.1", stage: "RCPT TO", category: Blocklist, list: "SpamCop",
		page: "https://www.spamcop.net/bl.shtml", listed: "203.0.113.9"},
	"exim-barracuda.txt": {format: "Exim", rcpt: "gina@example.com", host: "mail.example.com", code: 554, stage: "connect",
		category: Blocklist, list: "Barracuda", page: "https://www.barracudacentral.org/rbl/removal-request", listed: "203.0.113.10"},
	"cpanel-sorbs.txt": {format: "Exim", rcpt: "jack@example.com", host: "mx.example.com", code: 554, enhanced: "5.7.1",
		stage: "MAIL FROM", category: Blocklist, list: "SORBS", listed: "203.0.113.21", advice: "SORBS closed in 2024"},
	"postfix-typo.txt": {format: "Postfix", rcpt: "jon@hotmial.com", host: "mx.hotmial.com", ip: "192.0.2.20",
		code: 550, enhanced: "5.1.1", stage: "RCPT TO", category: UnknownRecipient, suggest: "jon@hotmail.com"},
	"postfix-mailbox-full.txt": {format: "Postfix", rcpt: "ann@example.org", host: "mx.example.org", code: 552,
		enhanced: "5.2.2", stage: "RCPT TO", category: MailboxFull},
	"postfix-mailspike-data.txt": {format: "Postfix", rcpt: "lou@example.org", code: 554, enhanced: "5.7.1",
		stage: "end of data", category: Blocklist, list: "Mailspike", page: "https://mailspike.org/", listed: "203.0.113.12"},
	"postfix-gmail-spam.txt": {format: "Postfix", rcpt: "max@gmail.com", host: "gmail-smtp-in.l.google.com",
		ip: "142.250.27.26", code: 550, enhanced: "5.7.1", stage: "end of data", category: SpamContent,
		text: "likely unsolicited mail. To reduce"},
	"postfix-gmail-dmarc.txt": {format: "Postfix", rcpt: "ned@gmail.com", code: 550, enhanced: "5.7.26",
		stage: "end of data", category: Authentication},
	"postfix-gmail-rate.txt": {format: "Postfix", rcpt: "ola@gmail.com", code: 421, enhanced: "4.7.28",
		stage: "end of data", category: RateLimited},
	"exchange-s3150.txt": {format: "Exchange", rcpt: "pat@outlook.com", host: "outlook-com.olc.protection.outlook.com",
		ip: "104.47.0.33", code: 550, enhanced: "5.7.1", category: Blocklist, list: "Microsoft (Outlook.com, Hotmail)",
		page: "https://olcsupport.office.com/", listed: "203.0.113.13"},
	"exchange-user-unknown.txt": {format: "Exchange", rcpt: "mary@example.com", code: 550, enhanced: "5.1.1",
		category: UnknownRecipient, text: "RESOLVER.ADR.RecipNotFound; not found"},
	"gmail-address-not-found.txt": {format: "Gmail", rcpt: "jane@yaho.com", code: 550, enhanced: "5.1.1",
		category: UnknownRecipient, suggest: "jane@yahoo.com"},
	"gmail-over-quota.txt": {format: "Gmail", rcpt: "quinn@example.com", code: 452, enhanced: "4.2.2", category: MailboxFull},
	"yahoo-tss04.txt":      {format: "SMTP reply", code: 421, enhanced: "4.7.0", category: RateLimited},
	"yahoo-tss09.txt": {format: "Yahoo", rcpt: "rob@yahoo.com", code: 553, enhanced: "5.7.2", stage: "RCPT TO",
		category: Reputation, list: "Yahoo", listed: "203.0.113.17"},
	"line-spamhaus-pbl.txt": {format: "SMTP reply", code: 550, enhanced: "5.7.1", category: Blocklist,
		list: "Spamhaus PBL", page: "https://check.spamhaus.org/", listed: "203.0.113.18"},
	"line-relay-denied.txt":       {code: 554, enhanced: "5.7.1", category: RelayDenied},
	"line-starttls.txt":           {code: 530, enhanced: "5.7.0", category: TLSRequired},
	"line-proofpoint.txt":         {code: 554, category: Blocklist, list: "Proofpoint", page: "https://ipcheck.proofpoint.com/", listed: "203.0.113.19"},
	"line-cloudmark.txt":          {code: 550, category: Blocklist, list: "Cloudmark (CSI)", listed: "203.0.113.20"},
	"line-psbl.txt":               {code: 550, category: Blocklist, list: "PSBL", page: "https://psbl.org/remove", listed: "203.0.113.22"},
	"line-unknown-list.txt":       {code: 550, category: Blocklist, list: "bl.example.net", listed: "203.0.113.23"},
	"line-s3140.txt":              {code: 550, category: Blocklist, list: "Microsoft (Outlook.com, Hotmail)", listed: "203.0.113.24"},
	"line-spf.txt":                {code: 550, enhanced: "5.7.23", category: Authentication},
	"line-spam-score.txt":         {code: 550, category: SpamContent, score: "12.3"},
	"line-greylisted-generic.txt": {code: 451, enhanced: "4.7.1", category: Greylisted, advice: "Nothing to do"},
	"exim-two-recipients.txt":     {format: "Exim", failures: 2},
	"postfix-two-recipients.txt":  {format: "Postfix", failures: 2},
	"gmail-account-does-not-exist.txt": {format: "Gmail", rcpt: "vic@gmail.com", code: 550, enhanced: "5.1.1",
		category: UnknownRecipient, text: "The email account that you tried to reach does not exist. Please try double-checking"},
	"line-office365-banned.txt": {code: 550, enhanced: "5.7.606", category: Blocklist, list: "Microsoft 365 (Exchange Online)",
		page: "https://sender.office.com/", listed: "203.0.113.26"},
	"exchange-2007-hash.txt": {format: "Exchange", rcpt: "wes@example.com", host: "mail.example.com", code: 550, enhanced: "5.1.1",
		category: UnknownRecipient},
}

func TestExplainSamples(t *testing.T) {
	files, err := filepath.Glob("testdata/samples/*")
	if err != nil || len(files) < 30 {
		t.Fatalf("samples: %d files, %v", len(files), err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		w, ok := samples[name]
		if !ok {
			t.Errorf("%s has no expectation in the table", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			rep := Explain(raw)
			if !rep.Found {
				t.Fatalf("no bounce found")
			}
			n := max(w.failures, 1)
			if len(rep.Failures) != n {
				t.Fatalf("%d failures, want %d: %+v", len(rep.Failures), n, rep.Failures)
			}
			if w.format != "" && rep.Format != w.format {
				t.Errorf("format %q, want %q", rep.Format, w.format)
			}
			if w.failures > 1 {
				return
			}
			f := rep.Failures[0]
			check := func(what, got, want string) {
				if want != "" && got != want {
					t.Errorf("%s %q, want %q", what, got, want)
				}
			}
			check("recipient", f.Recipient, w.rcpt)
			check("remote host", f.RemoteHost, w.host)
			check("remote IP", f.RemoteIP, w.ip)
			check("enhanced code", f.Enhanced, w.enhanced)
			check("stage", f.Stage, w.stage)
			check("score", f.Score, w.score)
			check("suggestion", f.Suggestion, w.suggest)
			check("listed IP", f.ListedIP, w.listed)
			if f.Category != w.category {
				t.Errorf("category %q, want %q (text %q)", f.Category, w.category, f.Text)
			}
			if w.code != 0 && f.Code != w.code {
				t.Errorf("code %d, want %d", f.Code, w.code)
			}
			if w.list != "" {
				if f.List == nil {
					t.Errorf("no list, want %q", w.list)
				} else {
					check("list", f.List.Name, w.list)
					check("removal page", f.List.RemovalPage, w.page)
				}
			}
			if !strings.Contains(f.Text, w.text) {
				t.Errorf("text %q lacks %q", f.Text, w.text)
			}
			if !strings.Contains(f.Advice, w.advice) || f.Advice == "" {
				t.Errorf("advice %q lacks %q", f.Advice, w.advice)
			}
			if (f.Category == Blocklist || f.Category == Reputation) && f.List != nil && f.List.RemovalPage != "" &&
				!strings.Contains(f.Advice, f.List.RemovalPage) {
				t.Errorf("advice %q does not name the removal page %s", f.Advice, f.List.RemovalPage)
			}
		})
	}
}

func TestExplainTwoRecipientsKeepTheirOwnHostAndReason(t *testing.T) {
	type fail struct {
		rcpt, host, stage, enhanced string
		cat                         Category
		list, listed                string
	}
	tests := map[string][]fail{
		"exim-two-recipients.txt": {
			{"hank@example.com", "mx.example.com", "RCPT TO", "5.7.1", Blocklist, "UCEPROTECT", "203.0.113.11"},
			{"ivy@example.org", "mx.example.org", "end of data", "5.3.4", TooBig, "", ""},
		},
		"postfix-two-recipients.txt": {
			{"tom@example.com", "mx.example.com", "RCPT TO", "5.1.1", UnknownRecipient, "", ""},
			{"uma@example.org", "mx.example.org", "RCPT TO", "5.7.1", Blocklist, "Barracuda", "203.0.113.25"},
		},
	}
	for file, want := range tests {
		raw, err := os.ReadFile("testdata/samples/" + file)
		if err != nil {
			t.Fatal(err)
		}
		fs := Explain(raw).Failures
		if len(fs) != len(want) {
			t.Errorf("%s: %d failures: %+v", file, len(fs), fs)
			continue
		}
		for i, w := range want {
			f := fs[i]
			list := ""
			if f.List != nil {
				list = f.List.Name
			}
			got := fail{f.Recipient, f.RemoteHost, f.Stage, f.Enhanced, f.Category, list, f.ListedIP}
			if got != w {
				t.Errorf("%s failure %d:\n got  %+v\n want %+v", file, i, got, w)
			}
		}
	}
}

func TestExplainDSNSkipsDeliveredRecipients(t *testing.T) {
	raw, err := os.ReadFile("testdata/samples/dsn-spamhaus.eml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Explain(raw).Failures {
		if f.Recipient == "dave@example.org" {
			t.Errorf("a delivered recipient is reported as failed: %+v", f)
		}
	}
}

func TestExplainFindsNoBounceInOtherText(t *testing.T) {
	for name, in := range map[string]string{
		"empty":                    "",
		"a letter":                 "Hi Bob,\n\nthe meeting is at 10. Call me on 801-521-7000.\n\nAlice\n",
		"binary":                   "\x00\x01\x02\xff\xfe 550\x00",
		"a plain mail":             "From: a@example.com\nTo: b@example.com\nSubject: hi\n\nSee you in 2026.\n",
		"a number starting a line": "The price:\n550 dollars, as agreed\n421 more next month\n",
	} {
		if rep := Explain([]byte(in)); rep.Found || len(rep.Failures) != 0 {
			t.Errorf("%s: found %+v", name, rep)
		}
	}
}

func TestExplainReadsOnlyMaxInput(t *testing.T) {
	// The reply sits past MaxInput: a bounded reader never sees it.
	raw := append(bytes.Repeat([]byte("x"), MaxInput), []byte("\n550 5.1.1 User unknown\n")...)
	rep := Explain(raw)
	if !rep.Truncated {
		t.Error("not marked truncated")
	}
	if rep.Found {
		t.Errorf("read past MaxInput: %+v", rep.Failures)
	}
	head := append([]byte("550 5.1.1 User unknown\n"), raw...)
	if rep := Explain(head); !rep.Found || !rep.Truncated {
		t.Errorf("a reply at the start of a long input: found %v truncated %v", rep.Found, rep.Truncated)
	}
}

func TestCallerRemovalPageReplacesBuiltIn(t *testing.T) {
	raw, err := os.ReadFile("testdata/samples/dsn-spamhaus.eml")
	if err != nil {
		t.Fatal(err)
	}
	x := Explainer{RemovalPages: map[string]string{"spamhaus.org": "https://intranet.example/spamhaus", "spamcop.net": "https://x.example/"}}
	f := x.Explain(raw).Failures[0]
	if f.List == nil || f.List.RemovalPage != "https://intranet.example/spamhaus" || !strings.Contains(f.Advice, "intranet.example") {
		t.Errorf("list %+v advice %q", f.List, f.Advice)
	}
	// The built-in table is not changed by one caller's pages.
	if g := Explain(raw).Failures[0]; g.List.RemovalPage != "https://check.spamhaus.org/" {
		t.Errorf("built-in page changed to %q", g.List.RemovalPage)
	}
}

func TestSuggestAddressForMisspeltProviders(t *testing.T) {
	tests := map[string]string{
		"a@gmial.com":    "a@gmail.com",
		"a@gmai.com":     "a@gmail.com",
		"a@hotmial.com":  "a@hotmail.com",
		"a@yaho.com":     "a@yahoo.com",
		"a@outlok.com":   "a@outlook.com",
		"a@gmail.com":    "",
		"a@ymail.com":    "", // a real provider one edit from gmail.com
		"a@mail.com":     "",
		"a@example.com":  "",
		"a@aol.co":       "",
		"not an address": "",
	}
	for in, want := range tests {
		if got := suggestAddress(in); got != want {
			t.Errorf("suggestAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

// Lists is the built-in list table, for callers that hold other tables to
// it.
func TestEveryCategoryIsDescribedAndAdvised(t *testing.T) {
	for _, c := range []Category{Blocklist, Reputation, SpamContent, Authentication, UnknownRecipient, MailboxFull,
		RateLimited, Greylisted, TooBig, RelayDenied, TLSRequired} {
		if c.Describe() == Unknown.Describe() {
			t.Errorf("%s has no description", c)
		}
		f := Failure{Category: c, Text: "x"}
		if a := advise(&f); a == advise(&Failure{Category: Unknown, Text: "x"}) {
			t.Errorf("%s has the advice of an unknown reason: %q", c, a)
		}
	}
}

func TestListsHaveNamesAndPages(t *testing.T) {
	for _, l := range Lists() {
		if l.Name == "" || (l.RemovalPage == "" && l.Note == "") {
			t.Errorf("list %+v has no name, or neither a removal page nor a note", l)
		}
	}
}
