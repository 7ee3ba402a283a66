// Package lists holds the operator's allow and block lists: client
// addresses (IP or CIDR), senders and recipients (address or domain). The
// matchers are built once per engine (a SIGHUP reloads their files) and
// the checks in check.go turn matches into symbols, so a 554 and
// `relayguard check` say why.
//
// Entry syntax, one per line in files (# starts a comment):
//
//	192.0.2.7            one address
//	198.51.100.0/24      a network (IPv4 or IPv6 CIDR)
//	alice@example.com    one address (local part compared without case)
//	example.com          the domain itself, not its subdomains
//	.example.com         the domain and every subdomain
//
// Domains are compared in A-label lower case, so bücher.example and
// xn--bcher-kva.example are one entry.
package lists

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"

	"relayguard/internal/mailaddr"
)

// IPSet matches client addresses against addresses and networks. Entries
// are kept by prefix length, so a lookup costs one map probe per distinct
// length (a handful), not one comparison per entry.
type IPSet struct {
	byLen map[int]map[netip.Prefix]bool
	lens  []int // the distinct lengths, longest first: the narrowest entry is named
	n     int
}

// Add parses one IP or CIDR entry.
func (s *IPSet) Add(entry string) error {
	entry = strings.TrimSpace(entry)
	var p netip.Prefix
	if strings.Contains(entry, "/") {
		var err error
		if p, err = netip.ParsePrefix(entry); err != nil {
			return fmt.Errorf("%q is not an IP network: %w", entry, err)
		}
		if p.Addr().Is4In6() {
			return fmt.Errorf("%q: write an IPv4 network as IPv4", entry)
		}
		p = p.Masked()
	} else {
		a, err := netip.ParseAddr(entry)
		if err != nil {
			return fmt.Errorf("%q is not an IP address or network", entry)
		}
		a = a.Unmap()
		p = netip.PrefixFrom(a, a.BitLen())
	}
	// IPv4 and IPv6 lengths share the map key space: offset IPv6 ones.
	key := p.Bits()
	if p.Addr().Is6() {
		key += 1000
	}
	if s.byLen == nil {
		s.byLen = map[int]map[netip.Prefix]bool{}
	}
	if s.byLen[key] == nil {
		s.byLen[key] = map[netip.Prefix]bool{}
		s.lens = append(s.lens, key)
		slices.SortFunc(s.lens, func(a, b int) int { return b%1000 - a%1000 })
	}
	if !s.byLen[key][p] {
		s.byLen[key][p] = true
		s.n++
	}
	return nil
}

// Match returns the entry that holds ip.
func (s *IPSet) Match(ip netip.Addr) (netip.Prefix, bool) {
	if !ip.IsValid() {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap()
	for _, key := range s.lens {
		if (key >= 1000) != ip.Is6() {
			continue
		}
		p, err := ip.Prefix(key % 1000)
		if err == nil && s.byLen[key][p] {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// Len is the number of entries.
func (s *IPSet) Len() int { return s.n }

// AddrSet matches mail addresses against addresses, domains and domain
// trees.
type AddrSet struct {
	addrs   map[string]bool // local@ascii-domain, lower case
	domains map[string]bool // exact domains
	trees   map[string]bool // domains whose subdomains match too
}

// Add parses one address or domain entry.
func (s *AddrSet) Add(entry string) error {
	entry = strings.TrimSpace(entry)
	if s.addrs == nil {
		s.addrs, s.domains, s.trees = map[string]bool{}, map[string]bool{}, map[string]bool{}
	}
	if local, domain, ok := mailaddr.Split(entry); ok {
		d, err := asciiDomain(domain)
		if err != nil {
			return fmt.Errorf("%q: %w", entry, err)
		}
		s.addrs[strings.ToLower(local)+"@"+d] = true
		return nil
	}
	if strings.Contains(entry, "@") {
		return fmt.Errorf("%q is not an address or domain", entry)
	}
	tree := strings.HasPrefix(entry, ".")
	d, err := asciiDomain(strings.TrimPrefix(entry, "."))
	if err != nil {
		return fmt.Errorf("%q: %w", entry, err)
	}
	if tree {
		s.trees[d] = true
	} else {
		s.domains[d] = true
	}
	return nil
}

// asciiDomain is the A-label, lower-case form entries are kept in.
func asciiDomain(d string) (string, error) {
	d = strings.TrimSuffix(d, ".")
	if !mailaddr.ValidDomain(d) {
		return "", fmt.Errorf("not a domain name")
	}
	a, err := mailaddr.ASCII(d)
	if err != nil {
		return "", fmt.Errorf("not a domain name: %w", err)
	}
	return strings.ToLower(a), nil
}

// MatchAddress returns the entry that covers addr (an envelope address or
// a From address), or false.
func (s *AddrSet) MatchAddress(addr string) (string, bool) {
	local, domain, ok := mailaddr.Split(addr)
	if !ok {
		return "", false
	}
	d := mailaddr.Normalize(domain)
	if d == "" {
		return "", false
	}
	if key := strings.ToLower(local) + "@" + d; s.addrs[key] {
		return key, true
	}
	return s.MatchDomain(d)
}

// MatchDomain returns the entry that covers the normalised domain d.
func (s *AddrSet) MatchDomain(d string) (string, bool) {
	if d == "" {
		return "", false
	}
	if s.domains[d] {
		return d, true
	}
	for cur := d; ; {
		if s.trees[cur] {
			return "." + cur, true
		}
		i := strings.IndexByte(cur, '.')
		if i < 0 {
			return "", false
		}
		cur = cur[i+1:]
	}
}

// Len is the number of entries.
func (s *AddrSet) Len() int { return len(s.addrs) + len(s.domains) + len(s.trees) }

// ReadEntries reads one entry per line; blank lines and text after # are
// skipped. Errors name the line.
func ReadEntries(r io.Reader, name string, add func(string) error) error {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if err := add(line); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// readFile adds the entries of the file at path; "" adds nothing.
func readFile(path string, add func(string) error) error {
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("lists: %w", err)
	}
	defer f.Close()
	return ReadEntries(f, path, add)
}
