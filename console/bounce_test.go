package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"relayguard/internal/bounce"
)

// A bounce from the seed's thread (a hosting customer's Exim bounce),
// pasted into the page.
const seedLikeBounce = `This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  someone@example.net
    host mx.example.net [192.0.2.10]
    SMTP error from remote mail server after RCPT TO:<someone@example.net>:
    554 5.7.1 Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/203.0.113.5
`

// The bounce page: behind the login, its form behind the CSRF token, and
// it explains what is pasted: the list, the listed IP, the advice, and
// the live answer the explainer gives.
func TestBouncePage(t *testing.T) {
	f := newFixture(t)
	if code, _ := get(t, f.client(t), f.srv.URL+"/bounce"); code != http.StatusSeeOther {
		t.Errorf("without login: %d, want 303 to the login page", code)
	}
	c := f.login(t)
	code, body := get(t, c, f.srv.URL+"/bounce")
	if code != http.StatusOK || !strings.Contains(body, `<textarea name="bounce"`) {
		t.Fatalf("form page: %d\n%s", code, body)
	}
	token := csrfOf(t, body)
	if code, _ := post(t, c, f.srv.URL+"/bounce", url.Values{"bounce": {seedLikeBounce}}, "Origin", f.srv.URL); code != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d, want 403", code)
	}
	code, body = post(t, c, f.srv.URL+"/bounce", url.Values{"bounce": {seedLikeBounce}, "csrf": {token}}, "Origin", f.srv.URL)
	if code != http.StatusOK {
		t.Fatalf("explain: %d\n%s", code, body)
	}
	for _, want := range []string{"someone@example.net", "mx.example.net", "[192.0.2.10]", "554", "Spamhaus",
		"203.0.113.5", "What to do"} {
		if !strings.Contains(body, want) {
			t.Errorf("the explanation lacks %q:\n%s", want, body)
		}
	}
	code, body = post(t, c, f.srv.URL+"/bounce", url.Values{"bounce": {"hello, how are you"}, "csrf": {token}}, "Origin", f.srv.URL)
	if code != http.StatusOK || !strings.Contains(body, "No bounce found") {
		t.Errorf("not a bounce: %d, want the page to say so", code)
	}
	big := strings.Repeat("x", maxBounceForm+1)
	if code, _ := post(t, c, f.srv.URL+"/bounce", url.Values{"bounce": {big}, "csrf": {token}}, "Origin", f.srv.URL); code == http.StatusOK {
		t.Errorf("a paste over the form limit was read: %d", code)
	}
}

// With live lookups (serve's explainer), their answers are shown.
func TestBouncePageShowsTheLiveLookups(t *testing.T) {
	f := newFixtureWith(t, func(o *Options) {
		o.Bounce = func(_ context.Context, raw []byte) (bounce.Report, []bounce.Lookup) {
			return bounce.Explain(raw), []bounce.Lookup{
				{List: "Spamhaus", IP: "203.0.113.5", Role: "named in the bounce", Zone: "zen.spamhaus.org", Listed: true, Codes: []string{"127.0.0.3"}, TXT: "see the query page"},
				{List: "Spamhaus", IP: "192.0.2.25", Role: "egress IP", Zone: "zen.spamhaus.org"},
				{List: "Microsoft", Skipped: "the list has no public DNS zone to ask; see its removal page"}}
		}
	})
	c := f.login(t)
	_, body := get(t, c, f.srv.URL+"/bounce")
	code, body := post(t, c, f.srv.URL+"/bounce", url.Values{"bounce": {seedLikeBounce}, "csrf": {csrfOf(t, body)}}, "Origin", f.srv.URL)
	if code != http.StatusOK {
		t.Fatalf("%d\n%s", code, body)
	}
	for _, want := range []string{"The lists asked now", "LISTED 127.0.0.3 see the query page", "192.0.2.25 (egress IP)",
		"not listed", "not asked: the list has no public DNS zone"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
}
