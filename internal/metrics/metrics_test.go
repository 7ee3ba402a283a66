package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestScrapeServesRegisteredMetrics(t *testing.T) {
	Message(ActionRejected)
	Symbol("GTUBE")
	ListQuery("bl.test", Error)
	srv := httptest.NewServer(Handler(func(context.Context) error { return nil }, false))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics") // no Accept header: what a plain scraper sends
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`relayguard_messages_total{action="rejected"}`,
		`relayguard_messages_total{action="relayed"} 0`, // made at start, before any event
		`relayguard_symbol_hits_total{symbol="GTUBE"}`,
		`relayguard_dns_list_queries_total{result="error",zone="bl.test"}`,
		"# HELP relayguard_verdict_seconds ",
		"go_goroutines",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestProbes(t *testing.T) {
	var notReady error
	srv := httptest.NewServer(Handler(func(context.Context) error { return notReady }, false))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name     string
		notReady error
		path     string
		code     int
		body     string
		ready    float64
	}{
		{"alive", nil, "/healthz", 200, "ok\n", -1},
		{"alive while not ready", errors.New("x"), "/healthz", 200, "ok\n", -1},
		{"ready", nil, "/readyz", 200, "ready\n", 1},
		{"not ready says why", errors.New("upstream 127.0.0.1:25 does not accept connections"), "/readyz", 503,
			"not ready: upstream 127.0.0.1:25 does not accept connections\n", 0},
	}
	for _, tt := range tests {
		notReady = tt.notReady
		code, body := get(tt.path)
		if code != tt.code || body != tt.body {
			t.Errorf("%s: GET %s = %d %q, want %d %q", tt.name, tt.path, code, body, tt.code, tt.body)
		}
		if tt.ready >= 0 {
			if got := Value("relayguard_ready"); got != tt.ready {
				t.Errorf("%s: relayguard_ready = %v, want %v", tt.name, got, tt.ready)
			}
		}
	}
}

func TestFixedLabelSetsStayBounded(t *testing.T) {
	before := Value("relayguard_ratelimit_trips_total", "key", "other")
	RateLimited("user")
	RateLimited("alice@example.com") // a value, not a kind: a caller's bug
	if got := Value("relayguard_ratelimit_trips_total", "key", "alice@example.com"); got != 0 {
		t.Errorf("a value outside the set made its own series")
	}
	if got := Value("relayguard_ratelimit_trips_total", "key", "other"); got != before+1 {
		t.Errorf("other = %v, want %v", got, before+1)
	}
}

func TestUpstreamReplyClasses(t *testing.T) {
	tests := []struct {
		code  int
		class string
	}{{250, "2xx"}, {221, "2xx"}, {451, "4xx"}, {421, "4xx"}, {554, "5xx"}, {0, "error"}, {999, "error"}}
	for _, tt := range tests {
		before := Value("relayguard_upstream_replies_total", "class", tt.class)
		UpstreamReply(tt.code)
		if got := Value("relayguard_upstream_replies_total", "class", tt.class); got != before+1 {
			t.Errorf("UpstreamReply(%d) not counted as %s", tt.code, tt.class)
		}
	}
}

// TestNoUnboundedLabels keeps addresses, IPs, users and domains out of
// label names: each would make a series per client.
func TestNoUnboundedLabels(t *testing.T) {
	mfs, err := Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"result": true, "reason": true, "action": true, "symbol": true, "check": true,
		"zone": true, "class": true, "key": true}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "relayguard_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if !allowed[lp.GetName()] {
					t.Errorf("%s has label %q, not in the bounded set", mf.GetName(), lp.GetName())
				}
			}
		}
	}
}

func BenchmarkSymbol(b *testing.B) {
	for b.Loop() {
		Symbol("DNSBL_ZEN")
	}
}

func BenchmarkMessage(b *testing.B) {
	for b.Loop() {
		Message(ActionRelayed)
	}
}

func TestClassifierStateReadOnScrape(t *testing.T) {
	reads := 0
	SetClassifierState(func(context.Context) (int64, int64, bool, error) { reads++; return 250, 190, true, nil })
	defer SetClassifierState(nil)
	if reads != 0 {
		t.Fatal("read before any scrape")
	}
	tests := []struct {
		name string
		want float64
	}{{"relayguard_classifier_learned_spam", 250}, {"relayguard_classifier_learned_ham", 190}, {"relayguard_classifier_ready", 1}}
	for _, tt := range tests {
		if got := Value(tt.name); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, got, tt.want)
		}
	}
	SetClassifierState(func(context.Context) (int64, int64, bool, error) { return 0, 0, false, errors.New("store down") })
	if got := Value("relayguard_classifier_ready"); got != 0 {
		t.Errorf("ready with the store down = %v, want no series", got)
	}
}

// BenchmarkPerMessage is what one relayed message costs in metrics: a
// connection, the spool, 25 checks timed, 4 list answers, 6 symbols, the
// verdict, 3 upstream replies and the action. Compare with the
// microseconds a message takes (filter's BenchmarkRelayMessage).
func BenchmarkPerMessage(b *testing.B) {
	checks := []string{"gtube", "content", "dnsbl", "uribl", "rdns", "helo", "spf", "dkim", "dmarc", "hop"}
	syms := []string{"SPF_PASS", "DKIM_VALID", "DMARC_PASS", "RDNS_NONE", "HTML_ONLY", "URI_MANY"}
	for b.Loop() {
		ConnAccepted()
		Spooled(4096, false)
		for i := range 25 {
			Check(checks[i%len(checks)], 3*time.Millisecond)
		}
		for range 4 {
			ListQuery("zen.spamhaus.org", Clean)
		}
		for _, s := range syms {
			Symbol(s)
		}
		Verdict(20 * time.Millisecond)
		UpstreamReply(250)
		UpstreamReply(250)
		UpstreamReply(250)
		Message(ActionRelayed)
	}
}

// TestProfilerOnlyWhenAsked: /debug/pprof/ is there with profiling and
// absent without it, so turning the endpoint on does not expose the
// profiler by accident.
func TestProfilerOnlyWhenAsked(t *testing.T) {
	for _, profiling := range []bool{false, true} {
		srv := httptest.NewServer(Handler(func(context.Context) error { return nil }, profiling))
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap?debug=1", "/debug/pprof/cmdline"} {
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := http.StatusNotFound
			if profiling {
				want = http.StatusOK
			}
			if resp.StatusCode != want {
				t.Errorf("profiling %v: GET %s = %d, want %d", profiling, path, resp.StatusCode, want)
			}
			if profiling && path == "/debug/pprof/heap?debug=1" && !strings.Contains(string(body), "heap profile") {
				t.Errorf("GET %s: not a heap profile: %.80q", path, body)
			}
		}
		srv.Close()
	}
}
