package rules

import (
	"relayguard/rules/message"
	"strings"
	"testing"
)

// TestWhereLinksGoRules checks the rules on where links go and on
// credential forms on small hand-made messages: the phishing each is for,
// and beside it the legitimate mail that looks like it, which must stay
// far from add_header.
func TestWhereLinksGoRules(t *testing.T) {
	rs := defaultRuleset(t)
	textHTML := "Content-Type: text/html; charset=utf-8\nMIME-Version: 1.0"
	html := func(from, subject, body string) string {
		return mkmail(textHTML+"\nFrom: "+from+"\nSubject: "+subject, body)
	}
	tests := []struct {
		name   string
		raw    string
		fire   []string
		silent []string
		match  map[string]string // substring of Hit.Match
		// maxScore, when set, is a ceiling on the message's content score:
		// the false-positive cases must stay well below add_header (6).
		maxScore float64
	}{
		// ---- free hosting, form builders, file shares, IPFS
		{
			name:  "lone link to a page on a free app platform, with account wording",
			raw:   html("IT Desk <it@mailer.example>", "Action required", `<p>Your mailbox is full. Verify your account within 24 hours.</p><p><a href="https://secure-login-3f9a.pages.dev/owa">Verify now</a></p>`),
			fire:  []string{"URI_FREE_HOSTING", "URI_HOSTED_ONLY_LINK", "PHRASE_ACCOUNT_LURE", "LURE_HOSTED_LINK"},
			match: map[string]string{"URI_FREE_HOSTING": "pages.dev", "PHRASE_ACCOUNT_LURE": "mailbox is full"},
		},
		{
			name:  "cloud-storage page through Google's redirector",
			raw:   html("Billing <billing@mailer.example>", "Payment failed", `<p>Update your payment information.</p><a href="https://www.google.com/url?q=https://storage.googleapis.com/bkt-88/index.html&sa=D">Update</a>`),
			fire:  []string{"URI_FREE_HOSTING", "URI_REDIRECTOR", "LURE_HOSTED_LINK"},
			match: map[string]string{"URI_REDIRECTOR": "google.com/url to storage.googleapis.com", "URI_FREE_HOSTING": "storage.googleapis.com"},
		},
		{
			name:  "Bing click URL with a base64 destination",
			raw:   html("x@mailer.example", "Invoice", `<a href="https://www.bing.com/ck/a?!&&p=1f&u=a1aHR0cHM6Ly9ldmlsLmV4YW1wbGUvbG9naW4&ntb=1">View invoice</a>`),
			fire:  []string{"URI_REDIRECTOR"},
			match: map[string]string{"URI_REDIRECTOR": "bing.com/ck to evil.example"},
		},
		{
			name:  "IPFS gateway path on any host",
			raw:   html("x@mailer.example", "Document", `<a href="https://gw.example/ipfs/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi">Open</a> <a href="https://mailer.example/">home</a>`),
			fire:  []string{"URI_IPFS"},
			match: map[string]string{"URI_IPFS": "gw.example/ipfs"},
		},
		{
			name:  "Google Forms link and a SharePoint PDF share",
			raw:   html("x@mailer.example", "Shared file", `<a href="https://docs.google.com/forms/d/e/1FAIpQL/viewform">Sign in</a> <a href="https://contoso.sharepoint.com/:b:/g/personal/x/Eab">Review document</a>`),
			fire:  []string{"URI_FORM_BUILDER", "URI_FILE_SHARE"},
			match: map[string]string{"URI_FORM_BUILDER": "docs.google.com/forms", "URI_FILE_SHARE": "sharepoint.com/:b:"},
		},
		{
			name:   "images on cloud storage are not links the reader follows",
			raw:    html("News <news@shop.example>", "Spring sale", `<img src="https://storage.googleapis.com/shop-assets/banner.png"><a href="https://shop.example/sale">Shop</a>`),
			silent: []string{"URI_FREE_HOSTING", "URI_HOSTED_ONLY_LINK"},
		},
		// ---- data: and javascript:
		{
			name:  "data: URI in a link",
			raw:   html("x@mailer.example", "Your document", `<a href="data:text/html;base64,PGZvcm0+PC9mb3JtPg==">Open document</a>`),
			fire:  []string{"URI_DATA_OR_SCRIPT"},
			match: map[string]string{"URI_DATA_OR_SCRIPT": "data:text/html"},
		},
		{
			name:   "javascript:void(0) and an inline image are not",
			raw:    html("x@shop.example", "Hi", `<a href="javascript:void(0)">menu</a><img src="data:image/png;base64,iVBORw0KGgo=">`),
			silent: []string{"URI_DATA_OR_SCRIPT"},
		},
		// ---- link text naming a domain
		{
			name:  "words naming paypal.com over a link elsewhere",
			raw:   html("x@mailer.example", "Notice", `<a href="https://evil.example/login">Sign in to PayPal.com now</a>`),
			fire:  []string{"URI_TEXT_NAMES_DOMAIN"},
			match: map[string]string{"URI_TEXT_NAMES_DOMAIN": "goes to evil.example"},
		},
		{
			name:   "file names in link text are not domains",
			raw:    html("dev@lists.example", "patch", `<a href="https://git.example/tree/README.md">see README.md and setup.py</a>`),
			silent: []string{"URI_TEXT_NAMES_DOMAIN"},
		},
		// ---- credential forms
		{
			name:  "log-in form in the mail posting elsewhere",
			raw:   html("Webmail <admin@mailer.example>", "Mailbox quota", `<p>Your mailbox quota is exceeded. Confirm your identity below to keep the same password.</p><form action="https://collect.example/post.php" method="post"><input name="email"><input type="password" name="pass"><input type="submit" value="Continue"></form>`),
			fire:  []string{"FORM_PASSWORD", "FORM_OFFSITE", "PHRASE_ACCOUNT_LURE", "LURE_FORM"},
			match: map[string]string{"FORM_PASSWORD": "collect.example", "FORM_OFFSITE": "2 fields posting to collect.example"},
		},
		{
			name:   "a newsletter's search box is not a credential form",
			raw:    html("News <news@shop.example>", "This week", `<form action="https://www.search.example/find"><input name="q"><input type="submit"></form>`),
			silent: []string{"FORM_PASSWORD", "FORM_OFFSITE"},
		},
		// ---- false positives: legitimate mail that looks like the above
		{
			name: "newsletter with a bit.ly link among its own links",
			raw: html("Weekly <news@magazine.example>", "This week in gardening",
				`<p>Our top stories this week.</p><a href="https://magazine.example/a">Roses</a> <a href="https://bit.ly/3xYzAbc">Our podcast</a> <a href="https://magazine.example/b">Tulips</a> <a href="https://click.esp.example/u?u=https%3A%2F%2Fmagazine.example%2Funsubscribe">Unsubscribe</a>`),
			silent:   []string{"URI_HOSTED_ONLY_LINK", "URI_REDIRECTOR", "URI_TEXT_MISMATCH", "URI_TEXT_NAMES_DOMAIN"},
			maxScore: 3,
		},
		{
			name: "GitHub notification linking a project's github.io site",
			raw: mkmail("From: octo <notifications@github.com>\nSubject: [org/repo] Docs moved (#12)",
				"The docs now live at https://org.github.io/repo/ instead of the wiki.\n\n--\nReply to this email directly or view it on GitHub:\nhttps://github.com/org/repo/issues/12\n"),
			silent:   []string{"URI_HOSTED_ONLY_LINK", "LURE_HOSTED_LINK"},
			maxScore: 2,
		},
		{
			name: "university's Google Forms survey invitation",
			raw: mkmail("From: Student Services <survey@uni.example.edu>\nSubject: Course feedback survey",
				"Dear students,\n\nPlease tell us about this term's courses: https://forms.gle/AbCdEf123\nThe survey closes on Friday.\nMore at https://www.uni.example.edu/feedback\n\nStudent Services\n"),
			silent:   []string{"URI_HOSTED_ONLY_LINK", "LURE_HOSTED_LINK", "PHRASE_ACCOUNT_LURE"},
			maxScore: 2,
		},
		{
			name: "a service's own password reset",
			raw: html("Example Cloud <no-reply@cloud.example>", "Reset your password",
				`<p>We received a request to reset your password. <a href="https://account.cloud.example/reset?token=abc123">Reset password</a></p><p>If you did not ask for this, ignore this mail. <a href="https://cloud.example/help">Help</a></p>`),
			silent:   []string{"URI_FREE_HOSTING", "URI_REDIRECTOR", "URI_TEXT_MISMATCH", "FORM_PASSWORD", "LURE_HOSTED_LINK"},
			maxScore: 3,
		},
		{
			name: "unsubscribe through the ESP's own click-tracking domain",
			raw: html("Shop <news@shop.example>", "New arrivals",
				`<a href="https://shop.example/new">New arrivals</a> <a href="https://links.esp.example/ls/click?upn=https%3A%2F%2Fshop.example%2Funsubscribe%3Fid%3D9">shop.example/unsubscribe</a>`),
			silent:   []string{"URI_REDIRECTOR", "URI_TEXT_MISMATCH", "URI_TEXT_NAMES_DOMAIN", "URI_HOSTED_ONLY_LINK"},
			maxScore: 3,
		},
		{
			name: "bank's own notification with its own links",
			raw: html("Example Bank <alerts@bank.example>", "Your statement is ready",
				`<p>Your monthly statement is ready. Sign in to bank.example to view it.</p><a href="https://www.bank.example/login">Sign in to bank.example</a>`),
			silent:   []string{"URI_TEXT_NAMES_DOMAIN", "URI_HOSTED_ONLY_LINK", "LURE_HOSTED_LINK", "URI_TEXT_MISMATCH"},
			maxScore: 3,
		},
		{
			name: "shipping notice from the carrier",
			raw: html("Parcel Co <tracking@parcel.example>", "Your parcel is on its way",
				`<p>Your parcel will arrive on Tuesday. <a href="https://track.parcel.example/p/123">Track your parcel</a></p>`),
			silent:   []string{"PHRASE_ACCOUNT_LURE"},
			maxScore: 3,
		},
		{
			name: "Outlook safe links around a list address are not a mismatch",
			raw: html("dev@corp.example", "Re: build",
				`<a href="https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fgroups.google.com%2Fd%2Fmsgid%2Fx&data=1">https://groups.google.com/d/msgid/x</a>`),
			silent: []string{"URI_TEXT_MISMATCH", "URI_TEXT_NAMES_DOMAIN", "URI_REDIRECTOR"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := message.ParseMessage(strings.NewReader(tc.raw), int64(len(tc.raw)))
			hits := hitsOf(rs, m)
			checkHits(t, hits, tc.fire, tc.silent, tc.match)
			if tc.maxScore > 0 {
				var s float64
				for _, h := range hits {
					s += h.Score
				}
				if s > tc.maxScore {
					t.Errorf("score %.1f above %.1f; hits: %v", s, tc.maxScore, hitList(hits))
				}
			}
		})
	}
}
