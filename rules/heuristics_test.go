package rules

import (
	"relayguard/rules/message"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	defaultOnce sync.Once
	defaultSet  *Ruleset
)

func defaultRuleset(t testing.TB) *Ruleset {
	defaultOnce.Do(func() {
		rs, err := Load(nil, Options{})
		if err != nil {
			t.Fatalf("default rules: %v", err)
		}
		defaultSet = rs
	})
	return defaultSet
}

// received is the arrival time used by the date tests.
var received = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// hitsOf evaluates content and meta rules, as the engine does.
func hitsOf(rs *Ruleset, m *message.Message) map[string]Hit {
	hits := rs.Evaluate(m, received)
	var names []string
	for _, h := range hits {
		names = append(names, h.Name)
	}
	hits = append(hits, rs.EvaluateMeta(m, names)...)
	out := map[string]Hit{}
	for _, h := range hits {
		out[h.Name] = h
	}
	return out
}

// mkmail builds a well-formed message around a header block and body.
func mkmail(extraHeader, body string) string {
	h := "From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: Lunch on Friday\n" +
		"Date: Wed, 01 May 2024 11:58:00 +0000\nMessage-ID: <abc123@example.org>\n"
	for _, line := range strings.Split(strings.TrimSpace(extraHeader), "\n") {
		if line == "" {
			continue
		}
		name, _, _ := strings.Cut(line, ":")
		// an extra field replaces the default one of the same name
		var kept []string
		for _, l := range strings.Split(strings.TrimSpace(h), "\n") {
			if !strings.HasPrefix(strings.ToLower(l), strings.ToLower(name)+":") {
				kept = append(kept, l)
			}
		}
		h = strings.Join(kept, "\n") + "\n" + line + "\n"
	}
	return h + "\n" + body
}

// TestHeuristics checks each built-in heuristic and pattern rule on small
// hand-made messages: the case it is for, and the look-alike ham it must
// leave alone.
func TestHeuristics(t *testing.T) {
	rs := defaultRuleset(t)
	textHTML := "Content-Type: text/html; charset=utf-8\nMIME-Version: 1.0"
	many := func(n int, f func(i int) string) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(f(i))
		}
		return b.String()
	}
	tests := []struct {
		name   string
		raw    string
		fire   []string
		silent []string
		match  map[string]string // substring of Hit.Match
	}{
		{
			name:   "plain personal mail fires nothing",
			raw:    mkmail("", "Hi Bob,\n\nAre we still on for lunch on Friday? The new place on Main Street.\n\nAlice\n"),
			silent: []string{"*"},
		},
		// ---- links
		{
			name:  "link text shows one domain, href goes to another",
			raw:   mkmail(textHTML, `<p>Your account: <a href="http://login.evil.example/x">https://www.paypal.com/signin</a></p>`),
			fire:  []string{"URI_TEXT_MISMATCH"},
			match: map[string]string{"URI_TEXT_MISMATCH": "shows www.paypal.com, goes to login.evil.example"},
		},
		{
			name:   "link text on the same registered domain is fine",
			raw:    mkmail(textHTML, `<p><a href="https://click.news.example.com/r?u=1">www.example.com</a> and <a href="http://x.example/">read more</a></p>`),
			silent: []string{"URI_TEXT_MISMATCH"},
		},
		{
			name:  "IP-literal link",
			raw:   mkmail("", "Go to http://203.0.113.9/offer now\n"),
			fire:  []string{"URI_IP_LITERAL"},
			match: map[string]string{"URI_IP_LITERAL": "http://203.0.113.9/offer"},
		},
		{
			name: "decimal IP link is an IP literal and a disguise",
			raw:  mkmail("", "Go to http://3405803785/offer now\n"),
			fire: []string{"URI_IP_LITERAL", "URI_NUMERIC_HOST_TRICK"},
		},
		{
			name:  "userinfo trick",
			raw:   mkmail(textHTML, `<a href="http://www.bank.example@evil.example/login">log in</a>`),
			fire:  []string{"URI_USERINFO"},
			match: map[string]string{"URI_USERINFO": "http://www.bank.example@evil.example/login"},
		},
		{
			name:   "ftp with a plain user name is not the trick",
			raw:    mkmail("", "ftp://anonymous@ftp.example.org/pub/\n"),
			silent: []string{"URI_USERINFO"},
		},
		{
			name: "URL shortener",
			raw:  mkmail("", "see https://bit.ly/3abcDEF\n"),
			fire: []string{"URI_SHORTENER"},
		},
		{
			name:   "a domain that merely ends like a shortener",
			raw:    mkmail("", "see https://orbit.ly.example.com/ and https://notbit.ly/\n"),
			silent: []string{"URI_SHORTENER"},
		},
		{
			name: "newsletter with many links but sound structure stays low",
			raw: mkmail("Content-Type: multipart/alternative; boundary=b\nMIME-Version: 1.0\nList-Id: <news.example.org>",
				"--b\nContent-Type: text/plain\n\nThis week in the project\n"+
					many(40, func(i int) string {
						return "Article " + string(rune('a'+i%26)) + ": https://news.example.org/2024/" + strings.Repeat("x", i%5+1) + "\n"
					})+
					"\n--b\nContent-Type: text/html\n\n<p>This week in the project</p>"+
					many(40, func(i int) string {
						return `<p><a href="https://news.example.org/2024/` + strings.Repeat("x", i%5+1) + `">Article ` + string(rune('a'+i%26)) + `</a></p>`
					})+"\n--b--\n"),
			fire:   []string{"URI_MANY"},
			silent: []string{"HTML_ONLY", "URI_TEXT_MISMATCH", "URI_DOMAINS_MANY", "MIME_ALT_DIFFERENT"},
		},
		{
			name: "links to many domains",
			raw: mkmail("", many(12, func(i int) string {
				return "http://site" + string(rune('a'+i)) + ".example.com/ http://www.other" + string(rune('a'+i)) + ".example/\n"
			})),
			fire: []string{"URI_DOMAINS_MANY"},
		},
		// ---- HTML and MIME
		{
			name: "HTML only",
			raw:  mkmail(textHTML, "<p>Hello there, friend of the project.</p>"),
			fire: []string{"HTML_ONLY"},
		},
		{
			name: "text and HTML say different things",
			raw: mkmail("Content-Type: multipart/alternative; boundary=b\nMIME-Version: 1.0",
				"--b\nContent-Type: text/plain\n\nYour mail reader cannot display this message.\n"+
					"--b\nContent-Type: text/html\n\n<p>Cheap watches, designer bags, luxury replicas shipped worldwide from our warehouse every single day</p>\n--b--\n"),
			fire: []string{"MIME_ALT_DIFFERENT"},
		},
		{
			name: "big image, almost no text",
			raw:  mkmail(textHTML, `<a href="http://shop.example/"><img src="http://img.example/offer.jpg" width="600" height="800"></a>`),
			fire: []string{"HTML_IMAGE_NO_TEXT"},
		},
		{
			name:   "a tracking pixel is not an image message",
			raw:    mkmail(textHTML, `<p>`+strings.Repeat("Plenty of ordinary words here. ", 10)+`</p><img src="http://t.example/p.gif" width="1" height="1">`),
			silent: []string{"HTML_IMAGE_NO_TEXT"},
		},
		{
			name:  "hidden text",
			raw:   mkmail(textHTML, `<p>Hello</p><div style="display:none">`+strings.Repeat("bayes poison words ", 10)+`</div>`),
			fire:  []string{"HTML_HIDDEN_TEXT"},
			match: map[string]string{"HTML_HIDDEN_TEXT": "bayes poison words"},
		},
		{
			name: "white on white text",
			raw:  mkmail(textHTML, `<p>Hello</p><font color="#FFFFFF">`+strings.Repeat("invisible filler text ", 10)+`</font>`),
			fire: []string{"HTML_HIDDEN_TEXT"},
		},
		{
			name:   "a short hidden preheader is not enough",
			raw:    mkmail(textHTML, `<span style="display:none">Your weekly digest</span><p>Digest</p>`),
			silent: []string{"HTML_HIDDEN_TEXT"},
		},
		{
			name: "base64 for plain ASCII text",
			raw:  mkmail("Content-Type: text/plain\nContent-Transfer-Encoding: base64", "SGVsbG8sIHRoaXMgaXMgcGxhaW4gQVNDSUkgdGV4dC4K\n"),
			fire: []string{"MIME_BASE64_TEXT"},
		},
		{
			name:   "base64 for non-ASCII text is normal",
			raw:    mkmail("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64", "0J/RgNC40LLQtdGCLCDQvNC40YAh0J/RgNC40LLQtdGCLCDQvNC40YAh\n"),
			silent: []string{"MIME_BASE64_TEXT"},
		},
		{
			name: "broken MIME",
			raw:  mkmail("Content-Type: multipart/mixed; boundary=b\nMIME-Version: 1.0", "--b\nContent-Type: text/plain\n\ntext without an end\n"),
			fire: []string{"MIME_MALFORMED"},
		},
		// ---- wording
		{
			name:  "pharmacy words, disguised",
			raw:   mkmail("", "Get v1agra and c.i.a.l.i.s from our online pharmacy, no prescription needed\n"),
			fire:  []string{"PHRASE_PHARMACY"},
			match: map[string]string{"PHRASE_PHARMACY": "v1agra"},
		},
		{
			name:  "letters written apart",
			raw:   mkmail("", "Get it F R E E today, or v.i.a.g.r.a\n"),
			fire:  []string{"BODY_SPACED_OUT"},
			match: map[string]string{"BODY_SPACED_OUT": "v.i.a.g.r.a"},
		},
		{
			name:   "initials and abbreviations are not spaced-out words",
			raw:    mkmail("", "The U.S.A. and the E.U. met in D.C. with J. R. R. Tolkien fans, e.g. a b c.\n"),
			silent: []string{"BODY_SPACED_OUT"},
		},
		{
			name:   "drugtreatment.org does not say drug",
			raw:    mkmail("", "Our clinic partners with drugtreatment.org and recoverypharmacyhelp.example.\n"),
			silent: []string{"PHRASE_PHARMACY"},
		},
		{
			name: "lottery and advance-fee",
			raw: mkmail("", "Dear Friend,\n\nYou have won the lottery. To claim your prize, send your bank account details. "+
				"The transfer of funds of 10 million US dollars needs a foreign partner. Strictly confidential.\n"),
			fire: []string{"PHRASE_LOTTERY", "BODY_DEAR_GENERIC", "BODY_MONEY_BIG"},
		},
		{
			name: "money and urgency",
			raw:  mkmail("", "Lower your mortgage rates today! Debt consolidation, bad credit OK. Act now, limited time offer!!!\n"),
			fire: []string{"PHRASE_MONEY", "PHRASE_URGENCY", "BODY_EXCLAIM_MANY"},
		},
		{
			name: "opt-out small print and calls to action",
			raw:  mkmail("", "Click here to order. This is not spam. To be removed from our list, reply with REMOVE in the subject line.\n"),
			fire: []string{"PHRASE_ACTION", "PHRASE_OPTOUT"},
		},
		{
			name: "shouting",
			raw:  mkmail("Subject: MAKE MONEY FAST FROM HOME", strings.Repeat("THIS IS THE BEST OFFER YOU WILL EVER SEE IN YOUR LIFE.\n", 8)),
			fire: []string{"SUBJ_ALL_CAPS", "BODY_CAPS_MANY", "BODY_CAPS_LINES", "SHOUTING_SALES"},
		},
		{
			name:   "one capitalised heading is not shouting",
			raw:    mkmail("Subject: Minutes of the NATO working group", "AGENDA\n\nWe discussed the NATO and UN reports at length with the team today.\n"),
			silent: []string{"SUBJ_ALL_CAPS", "BODY_CAPS_MANY", "BODY_CAPS_LINES"},
		},
		{
			name: "non-English ham stays quiet",
			raw: mkmail("Subject: =?utf-8?q?R=C3=A9union_de_mardi?=\nContent-Type: text/plain; charset=utf-8",
				"Bonjour à tous,\n\nLa réunion de mardi est déplacée à jeudi. Le crédit du projet est confirmé, "+
					"merci de relire le compte rendu gratuit en pièce jointe.\n\nCordialement,\nMarie\n"),
			silent: []string{"*"},
		},
		{
			name: "Russian ham stays quiet",
			raw: mkmail("Subject: =?utf-8?b?0J/RgNC+0LXQutGC?=\nContent-Type: text/plain; charset=utf-8",
				"Коллеги, отправляю отчёт по проекту. Встреча в среду в 10 часов.\n"),
			silent: []string{"*"},
		},
		// ---- headers
		{
			name: "no Date, no Message-ID",
			raw:  "From: a@example.org\nTo: b@example.net\nSubject: hi\n\nhello\n",
			fire: []string{"DATE_MISSING", "MSGID_MISSING"},
		},
		{
			name:   "a missing Message-ID counts once, not also as malformed",
			raw:    "From: a@example.org\nTo: b@example.net\nSubject: hi\nDate: Wed, 01 May 2024 11:58:00 +0000\n\nhello\n",
			fire:   []string{"MSGID_MISSING"},
			silent: []string{"MSGID_MALFORMED"},
		},
		{
			name:   "a Message-ID without <id@host> is malformed",
			raw:    mkmail("Message-ID: 12345.example.org", "x\n"),
			fire:   []string{"MSGID_MALFORMED"},
			silent: []string{"MSGID_MISSING"},
		},
		{
			name: "unreadable Date",
			raw:  mkmail("Date: yesterday at noon", "x\n"),
			fire: []string{"DATE_INVALID"},
		},
		{
			name:  "Date a week ahead of arrival",
			raw:   mkmail("Date: Wed, 08 May 2024 12:00:00 +0000", "x\n"),
			fire:  []string{"DATE_IN_FUTURE"},
			match: map[string]string{"DATE_IN_FUTURE": "7 days ahead"},
		},
		{
			name:   "archived mail is judged at its newest Received, not today",
			raw:    mkmail("Received: from a by b; Thu, 22 Aug 2002 12:36:23 +0100\nDate: Thu, 22 Aug 2002 11:30:00 +0000", "x\n"),
			silent: []string{"DATE_IN_PAST", "DATE_IN_FUTURE"},
		},
		{
			name: "Date long before the newest Received",
			raw:  mkmail("Received: from a by b; Thu, 22 Aug 2002 12:36:23 +0100\nDate: Mon, 01 Jul 2002 10:00:00 +0000", "x\n"),
			fire: []string{"DATE_IN_PAST"},
		},
		{
			name:  "display name shows another address",
			raw:   mkmail(`From: "security@paypal.com" <x93@evil.example>`, "x\n"),
			fire:  []string{"FROM_NAME_OTHER_ADDR"},
			match: map[string]string{"FROM_NAME_OTHER_ADDR": "shows security@paypal.com, is x93@evil.example"},
		},
		{
			name:   "display name with the sender's own address",
			raw:    mkmail(`From: "alice@example.org" <alice@example.org>`, "x\n"),
			silent: []string{"FROM_NAME_OTHER_ADDR"},
		},
		{
			name: "Reply-To at free mail, From elsewhere",
			raw:  mkmail("From: Bank <notice@bank.example>\nReply-To: claims.dept@yahoo.com", "x\n"),
			fire: []string{"REPLYTO_FREEMAIL"},
		},
		{
			name:   "free-mail sender replying to itself",
			raw:    mkmail("From: Joe <joe@gmail.com>\nReply-To: joe.work@gmail.com", "x\n"),
			silent: []string{"REPLYTO_FREEMAIL"},
		},
		{
			name: "empty subject",
			raw:  mkmail("Subject: ", "x\n"),
			fire: []string{"SUBJ_EMPTY"},
		},
		{
			name: "undisclosed recipients",
			raw:  mkmail("To: undisclosed-recipients:;", "x\n"),
			fire: []string{"TO_UNDISCLOSED"},
		},
		{
			name: "many recipients in To",
			raw:  mkmail("To: "+strings.TrimSuffix(many(20, func(i int) string { return "user" + string(rune('a'+i)) + "@example.net, " }), ", "), "x\n"),
			fire: []string{"RCPTS_MANY"},
		},
		{
			name:  "subject tracking number",
			raw:   mkmail("Subject: Lose weight fast               28411", "x\n"),
			fire:  []string{"SUBJ_TRACKING_ID"},
			match: map[string]string{"SUBJ_TRACKING_ID": "28411"},
		},
		{
			name:   "a subject ending without exclamation marks does not end in them",
			raw:    mkmail("Subject: Big sale!! Order NOW", "x\n"),
			silent: []string{"SUBJ_EXCLAIM"},
		},
		{
			name:  "a subject ending in an exclamation mark",
			raw:   mkmail("Subject: Order now!", "x\n"),
			fire:  []string{"SUBJ_EXCLAIM"},
			match: map[string]string{"SUBJ_EXCLAIM": "!"},
		},
		{
			name:   "customer satisfaction is not a sales pitch",
			raw:    mkmail("Subject: Survey", "Please fill in the customer satisfaction survey before Friday.\n"),
			silent: []string{"PHRASE_ACTION", "PHRASE_FREE"},
		},
		{
			name: "satisfaction guaranteed is",
			raw:  mkmail("", "Satisfaction guaranteed or your money back.\n"),
			fire: []string{"PHRASE_FREE"},
		},
		{
			name: "ADV: label",
			raw:  mkmail("Subject: ADV: cheap ink", "x\n"),
			fire: []string{"SUBJ_ADV"},
		},
		{
			name: "subject greets the mailbox",
			raw:  mkmail("To: jsmith@example.net\nSubject: jsmith, your account is ready", "x\n"),
			fire: []string{"SUBJ_GREETS_RCPT"},
		},
		{
			name:   "list tag with the list's name is not a greeting",
			raw:    mkmail("To: ilug@linux.example\nSubject: [ILUG] meeting", "x\n"),
			silent: []string{"SUBJ_GREETS_RCPT"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hitsOf(rs, parse(tt.raw))
			for _, n := range tt.fire {
				if _, ok := got[n]; !ok {
					t.Errorf("%s did not fire; fired: %v", n, names(got))
				}
			}
			for _, n := range tt.silent {
				if n == "*" {
					if len(got) > 0 {
						t.Errorf("expected nothing to fire, got %v", got)
					}
					continue
				}
				if h, ok := got[n]; ok {
					t.Errorf("%s fired (%q); it should not", n, h.Match)
				}
			}
			for n, want := range tt.match {
				if h := got[n]; !strings.Contains(h.Match, want) {
					t.Errorf("%s match = %q, want it to contain %q", n, h.Match, want)
				}
			}
		})
	}
}

func names(h map[string]Hit) []string {
	var out []string
	for n := range h {
		out = append(out, n)
	}
	return out
}

// TestEvaluateOnce: a message is evaluated once per rule set, however many
// checks ask, and concurrent callers get the same result.
func TestEvaluateOnce(t *testing.T) {
	rs := defaultRuleset(t)
	m := parse(mkmail("", "click here to be removed from our list\n"))
	var wg sync.WaitGroup
	results := make([][]Hit, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = rs.Evaluate(m, received)
		}()
	}
	wg.Wait()
	for i := range results {
		if len(results[i]) == 0 || &results[i][0] != &results[0][0] {
			t.Fatalf("caller %d got a different evaluation", i)
		}
	}
}

func TestCommentSplitsWord(t *testing.T) {
	rs := defaultRuleset(t)
	for body, want := range map[string]bool{
		"<p>Buy vi<!-- x -->agra now</p>":            true,
		"<p>Buy viagra<!-- x --> now</p>":            false,
		"<p>word<br><!-- x -->next</p>":              false,
		"<!-- header --><p>Hello</p><!-- footer -->": false,
	} {
		_, got := hitsOf(rs, parse("Content-Type: text/html\n\n"+body))["HTML_COMMENT_SPLITS_WORD"]
		if got != want {
			t.Errorf("%s: fired %v, want %v", body, got, want)
		}
	}
}

// TestPhrasesSpareEverydayWords: a phrase list scores spam's wording, not
// words that ordinary mail uses every day. Each sentence below is ham that
// a bare word in a list once turned into a sales-wording hit (and so into
// a WORDING_MIXED vote).
func TestPhrasesSpareEverydayWords(t *testing.T) {
	rs := defaultRuleset(t)
	for _, text := range []string{
		"Please fill in the customer satisfaction survey before Friday.",
		"The results are amazing, the build is twice as fast now.",
		"Set CONFIG_XXX to y and rebuild the cell.",
		"There is no guarantee that the patch applies to the 5.10 tree.",
		"The class uses multiple inheritance from two interfaces.",
		"With the naked eye you cannot see the difference in the log.",
		"The survey asked for age and sex of each patient.",
		"Yet another Nigerian scam landed in my inbox today, with a sad story.",
		"His retirement party is on Friday; the deceased founder's son will speak.",
		"Thanks babe, see you at the wholesale market tomorrow.",
	} {
		got := hitsOf(rs, parse(mkmail("", text+"\n")))
		for n, h := range got {
			if strings.HasPrefix(n, "PHRASE_") {
				t.Errorf("%q: %s fired on %q", text, n, h.Match)
			}
		}
	}
}
