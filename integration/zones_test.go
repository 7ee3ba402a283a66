package integration

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/miekg/dns"

	"relayguard/scoring/dns/dnstest"
)

// zoneServer is the DNS of one sender test's world, on a free loopback
// port over UDP and TCP: relayguard's [dns] servers points at it.
//
// It answers as a recursive resolver would for the world it knows:
//
//   - names in the zones loaded from zone-file text (each zone starts with
//     its SOA record): authoritative answers, NODATA and NXDOMAIN with the
//     zone's SOA (so negative answers are cached as RFC 2308 says);
//   - names under a forwarded zone (the blocklists): the question is passed
//     to the real rbldnsd serving it and its answer returned, rcode and all;
//   - anything else: NXDOMAIN, as for a name in a TLD that does not exist.
//
// Why an in-process server and not nsd or dnsmasq: the world has a DKIM key
// made at run time, every test has its own zones and port (tests run in
// parallel), and a real authoritative server would add a package and a
// config format for what miekg/dns's zone parser already reads. The
// blocklists, whose answers are what relayguard interprets, do come from
// the real rbldnsd. It is a server per test rather than more zones in the
// harness's resolver on 127.0.0.1:53 (dns_test.go), which Exim and swaks
// use: that one stays the same small world for every test.
type zoneServer struct {
	Addr string

	mu      sync.Mutex
	records map[string][]dns.RR // owner (lower case FQDN) → records
	zones   map[string]*dns.SOA // zone apex → its SOA
	forward map[string]string   // zone → rbldnsd's IP:port
	log     []string            // one line per question, for a failing test
}

// startZoneServer serves zoneText (RFC 1035 zone-file syntax; $ORIGIN and
// $TTL allowed, one SOA per zone) and forwards the zones in forward to the
// servers given, until the test ends. Its query log is printed when the
// test fails.
func startZoneServer(t *testing.T, zoneText string, forward map[string]string) *zoneServer {
	t.Helper()
	z := &zoneServer{records: map[string][]dns.RR{}, zones: map[string]*dns.SOA{}, forward: map[string]string{}}
	for zone, addr := range forward {
		z.forward[strings.ToLower(dns.Fqdn(zone))] = addr
	}
	z.load(t, zoneText)

	z.Addr = dnstest.Serve(t, z)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("DNS questions to the zone server %s:\n%s", z.Addr, z.queryLog())
		}
	})
	return z
}

// load parses zone-file text into the server's data.
func (z *zoneServer) load(t *testing.T, text string) {
	t.Helper()
	zp := dns.NewZoneParser(strings.NewReader(text), ".", "")
	zp.SetDefaultTTL(60)
	z.mu.Lock()
	defer z.mu.Unlock()
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		name := strings.ToLower(rr.Header().Name)
		if soa, isSOA := rr.(*dns.SOA); isSOA {
			z.zones[name] = soa
		}
		z.records[name] = append(z.records[name], rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("zone data: %v", err)
	}
	for name := range z.records {
		if z.apex(name) == "" {
			t.Fatalf("zone data: %s is in no zone (no SOA above it)", name)
		}
	}
}

// add loads more records (zone-file lines with absolute names) into the
// zones already there, such as a DKIM key made at run time.
func (z *zoneServer) add(t *testing.T, lines ...string) {
	t.Helper()
	z.load(t, strings.Join(lines, "\n")+"\n")
}

// apex is the zone that holds name, "" when none does. Callers hold mu.
func (z *zoneServer) apex(name string) string {
	for n := name; ; {
		if _, ok := z.zones[n]; ok {
			return n
		}
		i := strings.IndexByte(n, '.')
		if n == "." || i < 0 || i == len(n)-1 {
			return ""
		}
		n = n[i+1:]
	}
}

// forwardedTo is the server that answers for name, when a forwarded zone
// holds it.
func (z *zoneServer) forwardedTo(name string) string {
	for zone, addr := range z.forward {
		if dns.IsSubDomain(zone, name) {
			return addr
		}
	}
	return ""
}

func (z *zoneServer) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	if len(r.Question) != 1 {
		m.SetRcode(r, dns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	if addr := z.forwardedTo(name); addr != "" {
		m = z.forwardQuery(r, addr)
	} else {
		m = z.answer(r, name, q.Qtype)
	}
	m.RecursionAvailable = true
	if opt := r.IsEdns0(); opt != nil {
		m.SetEdns0(opt.UDPSize(), false)
	}
	if _, isUDP := w.RemoteAddr().(*net.UDPAddr); isUDP {
		m.Truncate(udpSize(r))
	}
	z.note(q, m)
	w.WriteMsg(m)
}

func udpSize(r *dns.Msg) int {
	if opt := r.IsEdns0(); opt != nil {
		return int(opt.UDPSize())
	}
	return dns.MinMsgSize
}

// forwardQuery asks the server of a forwarded zone (rbldnsd, UDP only).
func (z *zoneServer) forwardQuery(r *dns.Msg, addr string) *dns.Msg {
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second, UDPSize: dns.DefaultMsgSize}
	q := new(dns.Msg)
	q.SetQuestion(r.Question[0].Name, r.Question[0].Qtype)
	q.RecursionDesired = false
	in, _, err := c.Exchange(q, addr)
	m := new(dns.Msg)
	m.SetReply(r)
	if err != nil {
		m.Rcode = dns.RcodeServerFailure
		return m
	}
	m.Rcode = in.Rcode
	m.Answer, m.Ns = in.Answer, in.Ns
	return m
}

// answer answers from the loaded zones.
func (z *zoneServer) answer(r *dns.Msg, name string, qtype uint16) *dns.Msg {
	z.mu.Lock()
	defer z.mu.Unlock()
	m := new(dns.Msg)
	m.SetReply(r)
	apex := z.apex(name)
	if apex == "" {
		m.Rcode = dns.RcodeNameError
		return m
	}
	m.Authoritative = true
	rrs, exists := z.records[name]
	for _, rr := range rrs {
		if rr.Header().Rrtype == qtype {
			m.Answer = append(m.Answer, rr)
		}
	}
	if len(m.Answer) == 0 {
		// NODATA when the name exists (or has names below it: an empty
		// non-terminal such as _domainkey.example.test), else NXDOMAIN;
		// both with the zone's SOA, for negative caching.
		if !exists && !z.hasBelow(name) {
			m.Rcode = dns.RcodeNameError
		}
		m.Ns = []dns.RR{z.zones[apex]}
	}
	return m
}

// hasBelow tells whether some name exists below name. Callers hold mu.
func (z *zoneServer) hasBelow(name string) bool {
	for n := range z.records {
		if n != name && dns.IsSubDomain(name, n) {
			return true
		}
	}
	return false
}

func (z *zoneServer) note(q dns.Question, m *dns.Msg) {
	var ans []string
	for _, rr := range m.Answer {
		f := strings.Fields(rr.String())
		ans = append(ans, strings.Join(f[3:], " "))
	}
	line := fmt.Sprintf("%-5s %s → %s %s", dns.TypeToString[q.Qtype], q.Name, dns.RcodeToString[m.Rcode], strings.Join(ans, " | "))
	z.mu.Lock()
	defer z.mu.Unlock()
	if len(z.log) < 500 {
		z.log = append(z.log, line)
	}
}

func (z *zoneServer) queryLog() string {
	z.mu.Lock()
	defer z.mu.Unlock()
	return strings.Join(z.log, "\n")
}

// senderWorld is the outside world of the sender-check tests: the DNS of
// the domains and client addresses in testdata/sender-world.zone, and a
// real rbldnsd serving the blocklists bl.test (IPv4 and IPv6) and uri.test
// (rbldnsdZones), reached through the zone server.
type senderWorld struct {
	dns *zoneServer
	bl  *rbldnsd
}

// startSenderWorld starts rbldnsd and the zone server for one test.
func startSenderWorld(t *testing.T) *senderWorld {
	t.Helper()
	bl := startRbldnsd(t)
	text, err := os.ReadFile(filepath.Join("testdata", "sender-world.zone"))
	if err != nil {
		t.Fatal(err)
	}
	z := startZoneServer(t, string(text), map[string]string{"bl.test": bl.addr, "uri.test": bl.addr, "dead.test": bl.addr})
	return &senderWorld{dns: z, bl: bl}
}

// senderLists are the blocklists of the sender tests, as a relayguard
// config file writes them. A listing on either list is a rejection by
// itself here (weight 20, over the reject threshold of 15), as at a site
// that rejects on Spamhaus SBL, except the PBL-like policy code 127.0.0.10.
const senderLists = `
[[dnsbl]]
zone = "bl.test"
name = "BL"
weight = 20.0
codes = { "127.0.0.10" = 3.0 }
policy = ["127.0.0.10"]

[[uribl]]
zone = "uri.test"
name = "URI"
weight = 20.0
`

// rgConfig starts from testdata/relayguard-inbound.toml (listening on a
// free loopback port, hostname relayguard.test, mail for example.com from
// anyone) and asks the world's DNS.
func (w *senderWorld) rgConfig(t *testing.T, upstream string) rgConfig {
	t.Helper()
	return inboundConfig(t, upstream).
		set("dns", "servers", []string{w.dns.Addr}).
		set("dns", "timeout", "2s")
}

// startRelayguardLists is startRelayguard with the tests' [[dnsbl]] and
// [[uribl]] entries added: arrays of tables, which rgConfig's sections of
// keys cannot hold.
func startRelayguardLists(t *testing.T, cfg rgConfig) *relayguardProc {
	t.Helper()
	dir := testDir(t, "relayguard")
	text := writeListsConfig(t, dir, withOwnStore(cfg, dir))
	addr, _ := cfg["server"]["listen"].(string)
	return runRelayguard(t, dir, addr, []string{"serve", "-config", filepath.Join(dir, "relayguard.toml")}, "relayguard.toml:\n"+text)
}

// writeListsConfig writes cfg and senderLists as dir/relayguard.toml and
// returns the text.
func writeListsConfig(t *testing.T, dir string, cfg rgConfig) string {
	t.Helper()
	var b strings.Builder
	if err := toml.NewEncoder(&b).Encode(cfg); err != nil {
		t.Fatal(err)
	}
	text := b.String() + senderLists
	writeFile(t, dir, "relayguard.toml", text, 0o644)
	return text
}

// senderMessage is an RFC 5322 message with CRLF line ends and a Message-ID
// the test can find the delivered copy by. extraHeader lines (CRLF-ended)
// go on top.
func senderMessage(extraHeader, from, to, subject, body string) (text, id string) {
	// RFC 5322 §3.6.4: the id's left part is dot-atom-text.
	tag := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' {
			return r
		}
		return '-'
	}, subject)
	id = fmt.Sprintf("<%d.%s@sender.test>", time.Now().UnixNano(), tag)
	text = extraHeader +
		"From: <" + from + ">\r\n" +
		"To: <" + to + ">\r\n" +
		"Subject: " + subject + "\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\n" +
		"Message-ID: " + id + "\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" + strings.ReplaceAll(body, "\n", "\r\n")
	return text, id
}

// senderMessageFile writes a senderMessage for swaks --data @FILE.
func senderMessageFile(t *testing.T, extraHeader, from, to, subject, body string) (arg, id string) {
	t.Helper()
	text, id := senderMessage(extraHeader, from, to, subject, body)
	return "@" + writeFile(t, testDir(t, "msg"), "message.eml", text, 0o644), id
}

// waitMessageID waits until the Maildir dir holds the message with
// Message-ID id (tests share mailboxes) and returns it.
func waitMessageID(t *testing.T, dir, id string) message {
	t.Helper()
	var got message
	waitFor(t, deliverTimeout, "message "+id+" in "+dir, func() bool {
		for _, m := range maildirMessages(t, dir) {
			if m.Header("Message-ID") == id {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

// hasMessageID tells whether the Maildir dir holds the message now.
func hasMessageID(t *testing.T, dir, id string) bool {
	t.Helper()
	return slices.ContainsFunc(maildirMessages(t, dir), func(m message) bool { return m.Header("Message-ID") == id })
}

// spamTests are the symbol names of a delivered message's X-Spam-Status.
// checkSpamTests checks that X-Spam-Status names every symbol of want and
// none of notWant.
func checkSpamTests(t *testing.T, m message, want, notWant []string) {
	t.Helper()
	symbols := spamTests(t, m)
	for _, s := range want {
		if !slices.Contains(symbols, s) {
			t.Errorf("X-Spam-Status %q lacks %s", m.Header("X-Spam-Status"), s)
		}
	}
	for _, s := range notWant {
		if slices.Contains(symbols, s) {
			t.Errorf("X-Spam-Status %q has %s", m.Header("X-Spam-Status"), s)
		}
	}
}

func spamTests(t *testing.T, m message) []string {
	t.Helper()
	status := m.Header("X-Spam-Status")
	_, tests, ok := strings.Cut(status, "tests=")
	if !ok {
		t.Fatalf("X-Spam-Status %q has no tests=\n%s", status, m.Raw)
	}
	return strings.Split(tests, ",")
}
