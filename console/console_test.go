package console

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"relayguard/filter"
	"relayguard/internal/history"
	"relayguard/internal/store"
	"relayguard/scoring/classifier"
	"relayguard/scoring/dnsbl"
)

var t0 = time.Now().Add(-10 * time.Minute).Truncate(time.Minute)

// fixture is a console on a memory store with two judged messages, the
// real bcrypt users (filter.Users) and a real classifier.
type fixture struct {
	srv *httptest.Server
	st  *store.Memory
	cl  *classifier.Classifier
}

func gtubeRecord() *history.Record {
	return &history.Record{Ref: "GTUBEREF0001", Time: t0, IP: "203.0.113.7", Helo: "spammer.example",
		From: "spammer@bad.example", Rcpts: []string{"alice@ours.example"}, Size: 812, Score: 1006, Action: "reject",
		Reject: 15, AddHeader: 6,
		Symbols: []history.Symbol{{Name: "GTUBE", Score: 1000, Detail: "the GTUBE test string"},
			{Name: "DNSBL_ZEN", Score: 6, Detail: "203.0.113.7 listed on zen.spamhaus.org (127.0.0.2)"}},
		Auth:       []string{"spf=fail smtp.mailfrom=bad.example"},
		RejectText: []string{"Message rejected as spam (score 1000.0, threshold 15.0), ref GTUBEREF0001", "GTUBE: the GTUBE test string"},
		Reply:      "554 5.7.1 rejected", LearnID: "learn-id-1",
		Tokens: history.Tokens{classifier.Hash("cheap"), classifier.Hash("pills")}}
}

func newFixture(t *testing.T) *fixture { t.Helper(); return newFixtureWith(t, nil) }

// newFixtureWith lets a test change the console's options.
func newFixtureWith(t *testing.T, change func(*Options)) *fixture {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewMemory(nil)
	h := history.New(st, history.Options{Max: 100, Age: 24 * time.Hour})
	h.Record(gtubeRecord())
	h.Record(&history.Record{Ref: "HAMREF000002", Time: t0.Add(time.Minute), IP: "198.51.100.9", From: "bob@good.example",
		Rcpts: []string{"carol@ours.example"}, Score: 1.2, Action: "accept", Reject: 15, AddHeader: 6, Reply: "250 2.0.0 Ok"})
	h.Close()
	h = history.New(st, history.Options{Max: 100, Age: 24 * time.Hour})
	t.Cleanup(h.Close)
	cl, err := classifier.New(classifier.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Users: filter.Users{"admin": hash}, History: h, Trainer: cl,
		Describe: func(s string) string {
			if s == "GTUBE" {
				return "the generic test for unsolicited bulk email"
			}
			return ""
		},
		Lists: func() []dnsbl.ListStatus {
			return []dnsbl.ListStatus{{Kind: "dnsbl", Zone: "zen.spamhaus.org", Enabled: false, Reason: "answers 127.255.255.254 (query refused)"}}
		}}
	if change != nil {
		change(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, st: st, cl: cl}
}

// client is a browser-like client that does not follow redirects.
func (f *fixture) client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (f *fixture) login(t *testing.T) *http.Client {
	t.Helper()
	c := f.client(t)
	resp, err := c.PostForm(f.srv.URL+"/login", url.Values{"user": {"admin"}, "password": {"s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %s", resp.Status)
	}
	return c
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, c *http.Client, u string, v url.Values, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the page")
	}
	return m[1]
}

func TestNothingWithoutLogin(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	for _, path := range []string{"/history", "/history?sender=spammer", "/message/GTUBEREF0001", "/live", "/"} {
		resp, err := c.Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if path != "/" && (resp.StatusCode != http.StatusSeeOther || loc != "/login") {
			t.Errorf("GET %s without login: %s to %q, want 303 to /login", path, resp.Status, loc)
		}
	}
	for _, path := range []string{"/message/GTUBEREF0001/train", "/logout"} {
		if code, _ := post(t, c, f.srv.URL+path, url.Values{"class": {"spam"}}); code != http.StatusUnauthorized {
			t.Errorf("POST %s without login: %d, want 401", path, code)
		}
	}
	if spam, _, _ := f.st.Totals(context.Background()); spam != 0 {
		t.Error("a POST without login trained the classifier")
	}
}

func TestLogin(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	if code, body := post(t, c, f.srv.URL+"/login", url.Values{"user": {"admin"}, "password": {"wrong"}}); code != http.StatusUnauthorized || !strings.Contains(body, "Wrong user or password") {
		t.Errorf("wrong password: %d", code)
	}
	if code, _ := post(t, c, f.srv.URL+"/login", url.Values{"user": {"nobody"}, "password": {"s3cret"}}); code != http.StatusUnauthorized {
		t.Errorf("unknown user: %d", code)
	}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/login", strings.NewReader("user=admin&password=s3cret"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ck := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("login: %s cookies %+v, want 303 and one HttpOnly SameSite=Strict cookie", resp.Status, ck)
	}
	if code, _ := get(t, c, f.srv.URL+"/history"); code != http.StatusOK {
		t.Errorf("history after login: %d", code)
	}
	// Logging out ends the session on the server, not only the cookie.
	_, body := get(t, c, f.srv.URL+"/history")
	stolen := &http.Cookie{Name: cookieName, Value: ck[0].Value}
	if code, _ := post(t, c, f.srv.URL+"/logout", url.Values{"csrf": {csrfOf(t, body)}}); code != http.StatusSeeOther {
		t.Errorf("logout: %d", code)
	}
	req, _ = http.NewRequest(http.MethodGet, f.srv.URL+"/history", nil)
	req.AddCookie(stolen)
	resp, _ = f.client(t).Do(req)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the old session after logout: %s, want a redirect to login", resp.Status)
	}
}

func TestLoginAttemptsThrottled(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	for i := range loginFailures {
		if code, _ := post(t, c, f.srv.URL+"/login", url.Values{"user": {"admin"}, "password": {fmt.Sprint("guess", i)}}); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	if code, _ := post(t, c, f.srv.URL+"/login", url.Values{"user": {"admin"}, "password": {"s3cret"}}); code != http.StatusTooManyRequests {
		t.Errorf("right password after %d failures: %d, want 429", loginFailures, code)
	}
}

func TestFormsNeedTheSessionsCSRFToken(t *testing.T) {
	f := newFixture(t)
	c := f.login(t)
	_, body := get(t, c, f.srv.URL+"/message/GTUBEREF0001")
	token := csrfOf(t, body)
	other := f.login(t) // another session's token is not this one's
	_, otherBody := get(t, other, f.srv.URL+"/message/GTUBEREF0001")
	tests := []struct {
		name string
		v    url.Values
		hdr  []string
		want int
	}{
		{"missing", url.Values{"class": {"spam"}}, nil, http.StatusForbidden},
		{"wrong", url.Values{"class": {"spam"}, "csrf": {"x" + token[1:]}}, nil, http.StatusForbidden},
		{"another session's", url.Values{"class": {"spam"}, "csrf": {csrfOf(t, otherBody)}}, nil, http.StatusForbidden},
		{"cross-site origin", url.Values{"class": {"spam"}, "csrf": {token}}, []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"opaque origin (a sandboxed frame)", url.Values{"class": {"spam"}, "csrf": {token}}, []string{"Origin", "null"}, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, _ := post(t, c, f.srv.URL+"/message/GTUBEREF0001/train", tc.v, tc.hdr...); code != tc.want {
				t.Errorf("%d, want %d", code, tc.want)
			}
		})
	}
	if spam, _, _ := f.st.Totals(context.Background()); spam != 0 {
		t.Fatal("a refused form trained the classifier")
	}
	if code, _ := post(t, c, f.srv.URL+"/message/GTUBEREF0001/train", url.Values{"class": {"spam"}, "csrf": {token}},
		"Origin", f.srv.URL); code != http.StatusOK {
		t.Errorf("with its token: %d, want 200", code)
	}
}

func TestSearchPage(t *testing.T) {
	f := newFixture(t)
	c := f.login(t)
	tests := []struct {
		query      string
		code       int
		has, hasnt []string
	}{
		{"", 200, []string{"GTUBEREF0001", "HAMREF000002"}, nil},
		{"?ref=gtuberef0001", 200, []string{"GTUBEREF0001", "spammer@bad.example"}, []string{"HAMREF000002"}},
		{"?sender=good.example", 200, []string{"HAMREF000002"}, []string{"GTUBEREF0001"}},
		{"?rcpt=alice%40", 200, []string{"GTUBEREF0001"}, []string{"HAMREF000002"}},
		{"?ip=203.0.113.0%2F24", 200, []string{"GTUBEREF0001"}, []string{"HAMREF000002"}},
		{"?symbol=DNSBL_ZEN&action=reject", 200, []string{"GTUBEREF0001"}, []string{"HAMREF000002"}},
		{"?action=accept", 200, []string{"HAMREF000002"}, []string{"GTUBEREF0001"}},
		{"?since=" + url.QueryEscape(t0.Add(time.Minute).Format(timeLayout)), 200, []string{"HAMREF000002"}, []string{"GTUBEREF0001"}},
		{"?sender=nobody", 200, []string{"No message matches"}, []string{"GTUBEREF0001"}},
		{"?ip=not-an-ip", 400, []string{"neither an address nor a prefix"}, nil},
		{"?cursor=junk", 400, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			code, body := get(t, c, f.srv.URL+"/history"+tc.query)
			if code != tc.code {
				t.Errorf("%d, want %d", code, tc.code)
			}
			for _, s := range tc.has {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range tc.hasnt {
				if strings.Contains(body, s) {
					t.Errorf("page shows %q", s)
				}
			}
		})
	}
	// The search form asks for no message content: no subject or body field.
	_, body := get(t, c, f.srv.URL+"/history")
	if strings.Contains(body, `name="subject"`) || strings.Contains(body, `name="body"`) {
		t.Error("the search form puts message content in the URL")
	}
}

func TestMessagePageSaysWhy(t *testing.T) {
	f := newFixture(t)
	c := f.login(t)
	code, body := get(t, c, f.srv.URL+"/message/GTUBEREF0001")
	if code != 200 {
		t.Fatalf("%d", code)
	}
	for _, s := range []string{
		"554 5.7.1 Message rejected as spam (score 1000.0, threshold 15.0), ref GTUBEREF0001", // the 554 text
		"the generic test for unsolicited bulk email",                                         // the description
		"203.0.113.7 listed on zen.spamhaus.org (127.0.0.2)",                                  // the DNS answer
		"spf=fail smtp.mailfrom=bad.example",                                                  // authentication
		"991.0 above reject (15.0)",                                                           // what would have changed
		"without GTUBE (1000.0) it would have scored 6.0: not rejected",
		"Not learned yet", "This was spam",
	} {
		if !strings.Contains(body, s) {
			t.Errorf("detail lacks %q", s)
		}
	}
	_, body = get(t, c, f.srv.URL+"/message/HAMREF000002")
	if !strings.Contains(body, "13.8 below reject (15.0)") || !strings.Contains(body, "Not trainable") {
		t.Error("the accepted message's page lacks its distance to reject, or offers training without tokens")
	}
	if code, _ := get(t, c, f.srv.URL+"/message/NOSUCHREF"); code != http.StatusNotFound {
		t.Errorf("unknown ref: %d, want 404", code)
	}
}

func TestTrainingFeedsTheClassifier(t *testing.T) {
	f := newFixture(t)
	c := f.login(t)
	ctx := context.Background()
	_, body := get(t, c, f.srv.URL+"/message/GTUBEREF0001")
	token := csrfOf(t, body)
	steps := []struct {
		class     string
		say       string
		spam, ham int64
	}{
		{"spam", "Learned as spam: learned.", 1, 0},
		{"spam", "Learned as spam: already learned.", 1, 0},
		{"ham", "Learned as ham: moved.", 0, 1},
	}
	for _, s := range steps {
		code, body := post(t, c, f.srv.URL+"/message/GTUBEREF0001/train", url.Values{"class": {s.class}, "csrf": {token}})
		if code != 200 || !strings.Contains(body, s.say) {
			t.Errorf("train %s: %d, page lacks %q", s.class, code, s.say)
		}
		spam, ham, _ := f.st.Totals(ctx)
		counts, _, _ := f.st.TokenCounts(ctx, []string{classifier.Hash("cheap")})
		if spam != s.spam || ham != s.ham || int64(counts[0].Spam) != s.spam || int64(counts[0].Ham) != s.ham {
			t.Errorf("after %s: totals %d/%d, token %+v; want %d/%d", s.class, spam, ham, counts[0], s.spam, s.ham)
		}
	}
	if code, _ := post(t, c, f.srv.URL+"/message/HAMREF000002/train", url.Values{"class": {"spam"}, "csrf": {token}}); code != http.StatusNotFound {
		t.Errorf("training a message without tokens: %d, want 404", code)
	}
	if code, _ := post(t, c, f.srv.URL+"/message/GTUBEREF0001/train", url.Values{"class": {"maybe"}, "csrf": {token}}); code != http.StatusBadRequest {
		t.Errorf("training as neither: %d, want 400", code)
	}
}

func TestLivePage(t *testing.T) {
	f := newFixture(t)
	c := f.login(t)
	code, body := get(t, c, f.srv.URL+"/live")
	if code != 200 {
		t.Fatalf("%d", code)
	}
	for _, s := range []string{"2 messages in the last hour", "DNSBL_ZEN", "spammer@bad.example", "zen.spamhaus.org", "off: answers 127.255.255.254", `href="/bounce"`} {
		if !strings.Contains(body, s) {
			t.Errorf("live view lacks %q", s)
		}
	}
}

func TestSenderSymbolsDescribed(t *testing.T) {
	tests := map[string]string{
		"SPF_FAIL":             "the SPF result for the envelope sender's domain: fail",
		"SPF_HELO_SOFTFAIL":    "the SPF result for the HELO name: softfail",
		"DKIM_INVALID":         "the DKIM signatures' result: a signature that does not verify",
		"DMARC_REJECT":         "the DMARC result for the From domain: fail, and the domain asks receivers to reject",
		"DNSBL_ZEN":            "the client's IP is listed on a DNS blocklist",
		"URIBL_IP_DBL":         "a link's host resolves to an IP listed",
		"FORWARD_SPF_FAIL":     "found on mail we forward off-site, judged more strictly: the SPF result",
		"RCVD_RDNS_NONE":       "found on the original client behind a trusted relay: the client's IP has no reverse DNS name",
		"GTUBE":                "GTUBE test string",
		"SOMETHING_UNKNOWN_42": "",
	}
	for name, want := range tests {
		got := DescribeSenderSymbol(name)
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("%s: %q, want it to contain %q", name, got, want)
		}
	}
}
