package message

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/idna"
)

// The functions below are the link helpers as they were before they were
// made to allocate less; the fuzz tests hold the new ones to them.

func normaliseHostBefore(h string) string {
	h = strings.TrimSpace(h)
	if strings.HasPrefix(h, "[") {
		if j := strings.IndexByte(h, ']'); j > 0 {
			if a, err := netip.ParseAddr(h[1:j]); err == nil {
				return a.Unmap().String()
			}
		}
		return ""
	}
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	} else if j := strings.LastIndexByte(h, ':'); j >= 0 && strings.Count(h, ":") == 1 {
		h = h[:j]
	}
	h = strings.TrimRight(strings.ToLower(h), ".")
	if h == "" || len(h) > 253 {
		return ""
	}
	if !isASCII(h) {
		// IDNA mapping may itself produce digits (superscripts, full-width
		// forms), so the IP check comes after it.
		a, err := idna.Lookup.ToASCII(h)
		if err != nil {
			return ""
		}
		h = a
	}
	if ip, ok := parseLooseIPv4Before(h); ok {
		return ip
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return ""
		}
	}
	if strings.Contains(h, "..") || strings.HasPrefix(h, ".") {
		return ""
	}
	return h
}
func parseLooseIPv4Before(h string) (string, bool) {
	parts := strings.Split(h, ".")
	if len(parts) > 4 {
		return "", false
	}
	var vals []uint64
	for _, p := range parts {
		if p == "" {
			return "", false
		}
		base := 10
		digits := p
		switch {
		case strings.HasPrefix(p, "0x"):
			base, digits = 16, p[2:]
			if digits == "" {
				digits = "0"
			}
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
		}
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil {
			return "", false
		}
		vals = append(vals, v)
	}
	var ip uint64
	for i, v := range vals {
		if i < len(vals)-1 {
			if v > 255 {
				return "", false
			}
			ip |= v << (8 * (3 - i))
			continue
		}
		rest := 4 - i // bytes the last part fills
		if v >= 1<<(8*rest) {
			return "", false
		}
		ip |= v
	}
	return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}).String(), true
}
func inlineSchemeBefore(v string) bool {
	var b strings.Builder
	for i := 0; i < len(v) && b.Len() < 40; i++ {
		c := v[i]
		if c <= ' ' {
			continue
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	s := b.String()
	switch {
	case strings.HasPrefix(s, "data:"), strings.HasPrefix(s, "vbscript:"):
		return true
	case strings.HasPrefix(s, "javascript:"):
		rest := strings.TrimSuffix(strings.TrimPrefix(s, "javascript:"), ";")
		switch rest {
		case "", "void(0)", "void0", "void(null)", "//", "false", "return(false)", "returnfalse":
			return false
		}
		return true
	}
	return false
}

func FuzzNormaliseHost(f *testing.F) {
	for _, s := range []string{"Example.COM.", "host:8080", "[::1]:25", "3232235777", "0xC0.0xA8.0.1", "0X10.1", "a:b:c", "bücher.de", "1.2.3.4:", "0x", "08.1", "१२३"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if got, want := NormaliseHost(h), normaliseHostBefore(h); got != want {
			t.Fatalf("NormaliseHost(%q) = %q, before %q", h, got, want)
		}
	})
}

func FuzzInlineScheme(f *testing.F) {
	for _, s := range []string{"data:text/html,x", " JavaScript:void(0);", "java\tscript:alert(1)", "vbscript:x", "https://x", "javascript:", strings.Repeat(" ", 50) + "data:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if got, want := inlineScheme(v), inlineSchemeBefore(v); got != want {
			t.Fatalf("inlineScheme(%q) = %v, before %v", v, got, want)
		}
	})
}
