package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"relayguard/rules/message"
	"relayguard/scoring"
)

// fakeDNS is an in-memory dns.Resolver. Like the real client it reports
// NXDOMAIN/NODATA as a *net.DNSError with IsNotFound (wrapped here, to
// prove the checks unwrap it) and other failures as plain errors.
type fakeDNS struct {
	mu      sync.Mutex
	txt     map[string][]string
	ip      map[string][]net.IPAddr
	mx      map[string][]*net.MX
	ptr     map[string][]string
	fail    map[string]bool // every lookup of the name fails (SERVFAIL)
	hang    bool            // every lookup waits for ctx to end
	delay   time.Duration   // every lookup takes this long (a remote server)
	queries map[string]int  // "TXT name" -> count
}

func newFakeDNS() *fakeDNS {
	return &fakeDNS{
		txt: map[string][]string{}, ip: map[string][]net.IPAddr{},
		mx: map[string][]*net.MX{}, ptr: map[string][]string{},
		fail: map[string]bool{}, queries: map[string]int{},
	}
}

func fqdn(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// TXT adds TXT records (each string is one record).
func (f *fakeDNS) TXT(name string, recs ...string) *fakeDNS {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.txt[fqdn(name)] = append(f.txt[fqdn(name)], recs...)
	return f
}

// A adds addresses (IPv4 or IPv6) for name.
func (f *fakeDNS) A(name string, ips ...string) *fakeDNS {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range ips {
		f.ip[fqdn(name)] = append(f.ip[fqdn(name)], net.IPAddr{IP: net.ParseIP(s)})
	}
	return f
}

// MX adds MX hosts for name.
func (f *fakeDNS) MX(name string, hosts ...string) *fakeDNS {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, h := range hosts {
		f.mx[fqdn(name)] = append(f.mx[fqdn(name)], &net.MX{Host: h + ".", Pref: uint16(10 * (i + 1))})
	}
	return f
}

// Fail makes every lookup of name fail as a SERVFAIL would.
func (f *fakeDNS) Fail(name string) *fakeDNS {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[fqdn(name)] = true
	return f
}

// Queries returns how many lookups were made in all.
func (f *fakeDNS) Queries() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.queries {
		n += c
	}
	return n
}

// count returns how many lookups of one type were made for name.
func (f *fakeDNS) count(typ, name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries[typ+" "+fqdn(name)]
}

func notFound(name string) error {
	return fmt.Errorf("fake: %w", &net.DNSError{Err: "no such host", Name: name, IsNotFound: true})
}

// begin counts a query and decides whether it fails.
func (f *fakeDNS) begin(ctx context.Context, typ, name string) (string, error) {
	name = fqdn(name)
	f.mu.Lock()
	f.queries[typ+" "+name]++
	hang, fail, delay := f.hang, f.fail[name], f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
	}
	if hang {
		<-ctx.Done()
		return name, fmt.Errorf("fake %s %s: %w", typ, name, ctx.Err())
	}
	if err := ctx.Err(); err != nil {
		return name, err
	}
	if fail {
		return name, errors.New("fake: SERVFAIL")
	}
	return name, nil
}

func (f *fakeDNS) LookupTXT(ctx context.Context, name string) ([]string, error) {
	name, err := f.begin(ctx, "TXT", name)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.txt[name]; ok {
		return append([]string(nil), r...), nil
	}
	return nil, notFound(name)
}

func (f *fakeDNS) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	name, err := f.begin(ctx, "MX", name)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.mx[name]; ok {
		return r, nil
	}
	return nil, notFound(name)
}

func (f *fakeDNS) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	host, err := f.begin(ctx, "IP", host)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.ip[host]; ok {
		return r, nil
	}
	return nil, notFound(host)
}

func (f *fakeDNS) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	addr, err := f.begin(ctx, "PTR", addr)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.ptr[addr]; ok {
		return r, nil
	}
	return nil, notFound(addr)
}

func (f *fakeDNS) LookupA(ctx context.Context, name string) ([]net.IP, error) {
	ips, err := f.LookupIPAddr(ctx, name)
	var out []net.IP
	for _, ip := range ips {
		if ip.IP.To4() != nil {
			out = append(out, ip.IP)
		}
	}
	return out, err
}

// newTestAuth builds an Auth over f, failing the test on bad options.
func newTestAuth(t testing.TB, f *fakeDNS, opts Options) *Auth {
	t.Helper()
	opts.Resolver = f
	a, err := NewAuth(opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// rawMessage joins header lines and a body with CRLF, as on the wire.
func rawMessage(header []string, body string) []byte {
	var b bytes.Buffer
	for _, h := range header {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return b.Bytes()
}

func parse(raw []byte) *message.Message {
	return message.ParseMessage(bytes.NewReader(raw), int64(len(raw)))
}

// symbolNames lists the names of syms.
func symbolNames(syms []scoring.Symbol) []string {
	var n []string
	for _, s := range syms {
		n = append(n, s.Name)
	}
	return n
}

// findSymbol returns the symbol called name, or false.
func findSymbol(syms []scoring.Symbol, name string) (scoring.Symbol, bool) {
	for _, s := range syms {
		if s.Name == name {
			return s, true
		}
	}
	return scoring.Symbol{}, false
}

// testCtx is a context with a deadline fit for unit tests.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
