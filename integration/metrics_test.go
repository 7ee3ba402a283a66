package integration

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"relayguard/scoring/dns"
)

// scrape fetches url and returns the body and status; a scraper sends
// no custom header, and neither does this.
func scrape(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// metricValue is the value of the series written exactly as series
// (name{label="v",...}, labels in Prometheus' sorted order), or -1 when
// the exposition lacks it.
func metricValue(text, series string) float64 {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && name == series {
			v, err := strconv.ParseFloat(value, 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// TestMetricsAfterTraffic: real swaks traffic through the running proxy,
// then /metrics scraped over HTTP: the GTUBE reject, the relayed messages,
// the symbols and the blocklist answering an error are all counted; the
// probes answer, and /readyz says why once the upstream is gone.
func TestMetricsAfterTraffic(t *testing.T) {
	needHarness(t)
	t.Parallel()
	w := startSenderWorld(t)
	upstream, delivered := maildirUpstream(t)
	metricsAddr := loopback(freePort(t))
	rg := startRelayguardLists(t, w.rgConfig(t, upstream).set("metrics", "listen", metricsAddr))
	base := "http://" + metricsAddr

	const body = "Hi Alice,\n\nthe minutes are on the wiki.\n\nSam\n"
	sends := []struct {
		name string
		ip   string
		body string
		exit int
	}{
		{"GTUBE rejected", "198.51.100.25", "Claim now.\n" + gtube + "\n", swaksDotRefused},
		{"clean relayed", "198.51.100.25", body, swaksOK},
		// bl.test answers 127.255.255.254 for this address, the code
		// Spamhaus gives public resolvers: the list could not tell.
		{"list erroring, relayed", "203.0.113.66", body, swaksOK},
	}
	for _, s := range sends {
		data, _ := senderMessageFile(t, "", "sam@good.test", "alice@example.com", s.name, s.body)
		tr := sendFrom(t, rg.Addr, s.ip, "mail.good.test", "--from", "sam@good.test", "--to", "alice@example.com", "--data", data)
		if tr.Exit != s.exit {
			t.Fatalf("%s: swaks exit %d, want %d\n%s", s.name, tr.Exit, s.exit, tr.Raw)
		}
	}
	waitMaildir(t, delivered, 2)

	code, text := scrape(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics: %d\n%s", code, text)
	}
	tests := []struct {
		series string
		min    float64 // at least
		max    float64 // at most; -1: no bound
	}{
		{`relayguard_messages_total{action="rejected"}`, 1, 1},
		{`relayguard_messages_total{action="relayed"}`, 2, 2},
		{`relayguard_symbol_hits_total{symbol="GTUBE"}`, 1, 1},
		{`relayguard_symbol_hits_total{symbol="DNSBL_BL_TEMPFAIL"}`, 1, 1},
		{`relayguard_dns_list_queries_total{result="error",zone="bl.test"}`, 1, -1},
		{`relayguard_dns_list_queries_total{result="clean",zone="bl.test"}`, 1, -1},
		{`relayguard_connections_total{reason="",result="accepted"}`, 3, -1},
		{`relayguard_upstream_replies_total{class="2xx"}`, 2, -1},
		{`relayguard_verdict_seconds_count`, 3, 3},
		{`relayguard_check_seconds_count{check="dnsbl"}`, 3, -1},
		{`relayguard_spool_bytes_total`, 100, -1},
		{`relayguard_dns_cache_misses_total`, 1, -1},
	}
	for _, tt := range tests {
		v := metricValue(text, tt.series)
		if v < tt.min || tt.max >= 0 && v > tt.max {
			t.Errorf("%s = %v, want between %v and %v", tt.series, v, tt.min, tt.max)
		}
	}
	for _, forbidden := range []string{"198.51.100.25", "203.0.113.66", "alice@", "sam@"} {
		if strings.Contains(text, forbidden) {
			t.Errorf("/metrics names %q: no per-address labels", forbidden)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}

	if code, body := scrape(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d %q, want 200", code, body)
	}
	if code, body := scrape(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz with the maildir upstream in place: %d %q, want 200", code, body)
	}
	// The upstream gone: within the probe's cache time, /readyz says so.
	if err := os.RemoveAll(delivered); err != nil {
		t.Fatal(err)
	}
	var last string
	waitFor(t, 30*time.Second, "/readyz to answer 503", func() bool {
		code, body := scrape(t, base+"/readyz")
		last = body
		return code == 503
	})
	if !strings.Contains(last, "upstream maildir") || !strings.Contains(last, "does not exist") {
		t.Errorf("/readyz 503 body %q does not say why", last)
	}
}

// TestEgressWatchAgainstRbldnsd: our own sending address (a TEST-NET one)
// put on the real rbldnsd's list is reported (gauge 1, an ERROR line with
// the code, TXT and removal page, and by `relayguard lookup`); taken off
// (zone file edited, rbldnsd told by SIGHUP) it is reported delisted
// (gauge 0, a WARN line).
func TestEgressWatchAgainstRbldnsd(t *testing.T) {
	needHarness(t)
	t.Parallel()
	bl := startRbldnsd(t)
	zone := filepath.Join(bl.dir, "bl4.zone")
	// $TTL 1: a delisting must not wait for the resolver cache's copy of
	// the listing (the watch uses the proxy's caching resolver).
	listed := rbldnsdZones["bl4.zone"] + "$TTL 1\n192.0.2.25 :127.0.0.4:Our customer's server $ listed, see https://bl.test/query/$\n"
	editZone(t, bl, zone, listed, "25.2.0.192.bl.test", true)

	upstream, _ := maildirUpstream(t)
	metricsAddr := loopback(freePort(t))
	cfg := inboundConfig(t, upstream).
		set("dns", "servers", []string{bl.addr}).
		set("access", "egress_ips", []string{"192.0.2.25", "192.0.2.26"}).
		set("blocklists", "egress_check_interval", "1s").
		set("blocklists", "removal_pages", map[string]string{"bl.test": "https://bl.test/removal"}).
		set("metrics", "listen", metricsAddr)
	rg := startRelayguardLists(t, cfg)
	gauge := func() float64 {
		_, text := scrape(t, "http://"+metricsAddr+"/metrics")
		return metricValue(text, `relayguard_egress_listed{zone="bl.test"}`)
	}

	waitFor(t, 20*time.Second, "relayguard_egress_listed 1", func() bool { return gauge() == 1 })
	const errorLine = `level=ERROR msg="our egress IP is listed" ip=192.0.2.25 list=bl.test code=127.0.0.4 ` +
		`txt="Our customer's server 192.0.2.25 listed, see https://bl.test/query/192.0.2.25" removal=https://bl.test/removal`
	waitFor(t, 5*time.Second, "the ERROR line", func() bool { return strings.Contains(rg.log.String(), errorLine) })

	// The command an operator runs: the same answer, exit status 1.
	out, err := exec.Command(relayguardBin, "lookup", "-config", filepath.Join(rg.dir, "relayguard.toml")).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("relayguard lookup (egress): %v, want exit status 1\n%s", err, out)
	}
	for _, want := range []string{
		"egress IP 192.0.2.25\n  dnsbl bl.test                      LISTED   127.0.0.4  \"Our customer's server 192.0.2.25 listed, see https://bl.test/query/192.0.2.25\"  removal: https://bl.test/removal\n",
		"egress IP 192.0.2.26\n  dnsbl bl.test                      not listed\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("relayguard lookup output lacks\n%s\ngot:\n%s", want, out)
		}
	}

	editZone(t, bl, zone, rbldnsdZones["bl4.zone"], "25.2.0.192.bl.test", false)
	waitFor(t, 20*time.Second, "relayguard_egress_listed 0", func() bool { return gauge() == 0 })
	waitFor(t, 5*time.Second, "the WARN line", func() bool {
		return strings.Contains(rg.log.String(), `level=WARN msg="our egress IP is no longer listed" ip=192.0.2.25 list=bl.test`)
	})
	if n := strings.Count(rg.log.String(), "our egress IP is listed"); n != 1 {
		t.Errorf("%d ERROR lines for one listing over many rounds, want 1", n)
	}
}

// editZone writes text to the zone file, tells rbldnsd (SIGHUP) and waits
// until name answers listed or not. The file's time is moved on: rbldnsd
// reloads a file whose modification time changed, and two edits within
// a second could otherwise look unchanged.
func editZone(t *testing.T, bl *rbldnsd, zone, text, name string, listed bool) {
	t.Helper()
	fi, err := os.Stat(zone)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(zone, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	later := fi.ModTime().Add(10 * time.Second)
	if err := os.Chtimes(zone, later, later); err != nil {
		t.Fatal(err)
	}
	if err := bl.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	probe, err := dns.New(dns.Options{Servers: []string{bl.addr}, Timeout: 200 * time.Millisecond, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "rbldnsd to reload "+zone, func() bool {
		_, err := probe.LookupA(context.Background(), name)
		return (err == nil) == listed
	})
}
