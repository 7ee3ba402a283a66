package integration

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	parsed "relayguard/rules/message"
	"relayguard/scoring"
	"relayguard/scoring/dns"
	"relayguard/scoring/dnsbl"
)

// The zones rbldnsd serves in these tests: an IPv4 and IPv6 DNSBL shaped
// like Spamhaus ZEN (with the RFC 5782 §5 test entry, a policy listing and
// a 127.255.255.254 "public resolver" error answer) and a domain URIBL
// shaped like Spamhaus DBL; and dead.test, a list whose zone answers
// "listed" for every IPv4 address (a dead list taken over by a wildcard,
// which RFC 5782 §5's 127.0.0.1 test point catches). The tests below ask them with the dnsbl package
// directly; the sender tests (sender_*_test.go) have the running relayguard
// ask them through the world's zone server (zones_test.go).
var rbldnsdZones = map[string]string{
	"bl4.zone": `$SOA 60 ns.bl.test. hostmaster.bl.test. 1 600 300 86400 60
$NS 60 ns.bl.test.
:127.0.0.2:Listed, see https://bl.test/query/$
127.0.0.2
203.0.113.7
203.0.113.8 :127.0.0.10:Dynamic address $, see https://bl.test/pbl/$
203.0.113.66 :127.255.255.254:refused
`,
	"bl6.zone": `$SOA 60 ns.bl.test. hostmaster.bl.test. 1 600 300 86400 60
:127.0.0.3:IPv6 $ listed
2001:db8:bad::/64
`,
	"uri.zone": `$SOA 60 ns.uri.test. hostmaster.uri.test. 1 600 300 86400 60
$NS 60 ns.uri.test.
:127.0.1.2:Domain listed, see https://uri.test/query/$
test
example.biz
phish.example :127.0.1.4:Phishing domain
`,
	"dead4.zone": `$SOA 60 ns.dead.test. hostmaster.dead.test. 1 600 300 86400 60
:127.0.0.2:Listed (this list answers everything)
0.0.0.0/1
128.0.0.0/1
`,
}

// rbldnsd is one rbldnsd daemon serving rbldnsdZones on loopback.
type rbldnsd struct {
	addr string // IP:port (UDP)
	cmd  *exec.Cmd
	out  syncBuffer
	dir  string // the zone files: a test may edit them and send SIGHUP
}

// startRbldnsd starts rbldnsd on a free loopback UDP port with the zones
// in a fresh directory, and waits until it answers. It skips the test (or
// fails it under CI=true) when rbldnsd is not installed.
func startRbldnsd(t *testing.T) *rbldnsd {
	t.Helper()
	bin := lookPath("rbldnsd")
	if bin == "" {
		missingTool(t, "rbldnsd not installed (apt-get install rbldnsd)")
	}
	// rbldnsd started as root switches to its own user before reading
	// the zones: the directory must be readable by everyone.
	dir, err := os.MkdirTemp("", "rbldnsd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range rbldnsdZones {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	port := freeUDPPort(t)
	d := &rbldnsd{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir}
	d.cmd = exec.Command(bin, "-n", "-b", "127.0.0.1/"+strconv.Itoa(port), "-w", dir, "-t", "60",
		"bl.test:ip4set:bl4.zone", "bl.test:ip6trie:bl6.zone", "uri.test:dnset:uri.zone", "dead.test:ip4set:dead4.zone")
	d.cmd.Stdout, d.cmd.Stderr = &d.out, &d.out
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("starting rbldnsd: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		d.cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-exited
	})
	// Ready when the test entry answers (an uncached client, so each poll
	// really asks).
	probe, err := dns.New(dns.Options{Servers: []string{d.addr}, Timeout: 200 * time.Millisecond, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, startTimeout, "rbldnsd to answer on "+d.addr, func() bool {
		select {
		case <-exited:
			t.Fatalf("rbldnsd exited at start: %s", d.out.String())
		default:
		}
		_, err := probe.LookupA(context.Background(), "2.0.0.127.bl.test")
		return err == nil
	})
	return d
}

// freeUDPPort returns a loopback UDP port nothing is bound to.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// rbldnsdConfig is the dnsbl configuration for rbldnsdZones.
func rbldnsdConfig(t *testing.T, d *rbldnsd) dnsbl.Config {
	t.Helper()
	r, err := dns.New(dns.Options{Servers: []string{d.addr}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return dnsbl.Config{
		Resolver: r,
		DNSBL: []dnsbl.List{{Zone: "bl.test", Name: "BL", Weight: 6,
			Codes: map[string]float64{"127.0.0.10": 3}, Policy: []string{"127.0.0.10"}}},
		URIBL: []dnsbl.List{{Zone: "uri.test", Name: "URI", Weight: 6, Codes: map[string]float64{"127.0.1.4": 8}}},
	}
}

func TestDNSBLAgainstRbldnsd(t *testing.T) {
	t.Parallel()
	d := startRbldnsd(t)
	cfg := rbldnsdConfig(t, d)
	k, err := dnsbl.NewIPCheck(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		ip         string
		via        string
		wantSym    string
		wantScore  float64
		wantDetail string
		wantErr    bool
	}{
		{"listed with TXT", "203.0.113.7", "", "DNSBL_BL", 6, "203.0.113.7 listed on bl.test (127.0.0.2): Listed, see https://bl.test/query/203.0.113.7", false},
		{"policy listing on the client", "203.0.113.8", "", "DNSBL_BL", 3, "(127.0.0.10): Dynamic address 203.0.113.8", false},
		{"policy listing on a hop", "203.0.113.8", "first untrusted hop, via trusted relay 127.0.0.1", "RCVD_DNSBL_BL", 0, "203.0.113.8 (first untrusted hop, via trusted relay 127.0.0.1) listed", false},
		{"IPv6 nibble query", "2001:db8:bad::7", "", "DNSBL_BL", 6, "2001:db8:bad::7 listed on bl.test (127.0.0.3): IPv6", false},
		{"error answer is no listing", "203.0.113.66", "", "DNSBL_BL_TEMPFAIL", 0, "could not be checked on bl.test", true},
		{"not listed", "198.51.100.1", "", "", 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := k.Judge(context.Background(), netip.MustParseAddr(tt.ip), tt.via)
			if (res.Err != nil) != tt.wantErr {
				t.Errorf("Err = %v, wantErr %v", res.Err, tt.wantErr)
			}
			if tt.wantSym == "" {
				if len(res.Symbols) != 0 {
					t.Errorf("got %+v", res.Symbols)
				}
				return
			}
			if len(res.Symbols) != 1 {
				t.Fatalf("got %+v, want %s", res.Symbols, tt.wantSym)
			}
			s := res.Symbols[0]
			if s.Name != tt.wantSym || s.Score != tt.wantScore || !strings.Contains(s.Detail, tt.wantDetail) {
				t.Errorf("got %s %.1f %q; want %s %.1f containing %q", s.Name, s.Score, s.Detail, tt.wantSym, tt.wantScore, tt.wantDetail)
			}
		})
	}
}

func TestURIBLAgainstRbldnsd(t *testing.T) {
	t.Parallel()
	d := startRbldnsd(t)
	k, err := dnsbl.NewURICheck(rbldnsdConfig(t, d))
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte("From: a@clean.example\r\nContent-Type: text/plain\r\n\r\n" +
		"See https://www.example.biz/offer and https://login.phish.example/ and https://203.0.113.7/x\r\n")
	msg := parsed.ParseMessage(bytes.NewReader(raw), int64(len(raw)))
	res := k.Run(context.Background(), &scoring.Input{From: "a@clean.example", Message: msg})
	if res.Err != nil {
		t.Errorf("Err = %v", res.Err)
	}
	want := map[string]string{
		"URIBL_URI":   "link domain phish.example listed on uri.test (127.0.1.4): Phishing domain; also example.biz",
		"URIBL_IP_BL": "link IP 203.0.113.7 listed on bl.test (127.0.0.2)",
	}
	if len(res.Symbols) != len(want) {
		t.Fatalf("got %+v", res.Symbols)
	}
	for _, s := range res.Symbols {
		if !strings.Contains(s.Detail, want[s.Name]) {
			t.Errorf("%s: %q, want containing %q", s.Name, s.Detail, want[s.Name])
		}
	}
}

func TestMonitorAndLookupAgainstRbldnsd(t *testing.T) {
	t.Parallel()
	d := startRbldnsd(t)
	cfg := rbldnsdConfig(t, d)
	m, err := dnsbl.NewMonitor(cfg, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	m.CheckNow(context.Background())
	for _, s := range m.Status() {
		if !s.Enabled {
			t.Errorf("%s %s fails its RFC 5782 self-test against rbldnsd: %s", s.Kind, s.Zone, s.Reason)
		}
	}
	cfg.Monitor = m
	var b strings.Builder
	if err := dnsbl.Lookup(context.Background(), cfg, "www.example.biz").WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "uribl uri.test") || !strings.Contains(b.String(), "LISTED   127.0.1.2") {
		t.Errorf("lookup report:\n%s", b.String())
	}
}
