package heuristics

import (
	"slices"
	"strings"
	"testing"
)

// brandDomainInSplit is brandDomainIn as it was written before, by split
// and join: FuzzBrandDomainIn holds the two to the same answers.
func (t *Brands) brandDomainInSplit(sub string) (string, bool) {
	labels := strings.Split(sub, ".")
	for i := range labels {
		for j := len(labels); j > i+1; j-- {
			if d := strings.Join(labels[i:j], "."); t.hasDomain(d) {
				return d, true
			}
		}
	}
	return "", false
}

// FuzzBrandDomainIn holds brandDomainIn, which reads the runs of labels
// in place, to the split-and-join code it replaced.
func FuzzBrandDomainIn(f *testing.F) {
	for _, s := range []string{"", ".", "..", "paypal.com", "www.paypal.com", "paypal.com.secure", "x.paypal.com.", ".paypal.com", "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.apple.com", "login.microsoftonline.com.x", "paypal..com"} {
		f.Add(s)
	}
	t := DefaultBrands()
	f.Fuzz(func(tt *testing.T, sub string) {
		if len(sub) > 253 {
			// A host name is at most 253 bytes (RFC 1035 §2.3.4), and the
			// reference joins a copy for every pair of labels: a long run
			// of dots takes it minutes.
			return
		}
		got, ok := t.brandDomainIn(sub)
		want, wok := t.brandDomainInSplit(sub)
		if got != want || ok != wok {
			tt.Fatalf("brandDomainIn(%q) = %q, %v; split and join: %q, %v", sub, got, ok, want, wok)
		}
	})
}

// FuzzHasPunycodeLabel holds hasPunycodeLabel to splitting the host into
// labels, as punycodeHost did.
func FuzzHasPunycodeLabel(f *testing.F) {
	for _, s := range []string{"", "xn--", "xn--80ak6aa92e.com", "www.xn--pypal-4ve.com", "axn--b.com", "a.xn-", "a..xn--.b", "XN--abc.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		want := false
		for _, l := range strings.Split(h, ".") {
			if strings.HasPrefix(l, "xn--") {
				want = true
				break
			}
		}
		if got := hasPunycodeLabel(h); got != want {
			t.Fatalf("hasPunycodeLabel(%q) = %v, want %v", h, got, want)
		}
	})
}

// claimsBefore is Claims as it was before it read ASCII words from a
// stack buffer by their places: FuzzClaims holds the two to one answer.
func (t *Brands) claimsBefore(text string, claimsOnly bool) []int {
	if text == "" {
		return nil
	}
	words := strings.Fields(brandWords(text))
	var out []int
	for i, w := range words {
		for _, p := range t.byFirst[w] {
			if claimsOnly && t.brands[p.brand].News || slices.Contains(out, p.brand) {
				continue
			}
			if len(words)-i >= len(p.words) && slices.Equal(words[i:i+len(p.words)], p.words) {
				out = append(out, p.brand)
			}
		}
	}
	slices.Sort(out)
	return out
}

// FuzzClaims holds Claims to claimsBefore, with and without news brands.
func FuzzClaims(f *testing.F) {
	for _, s := range []string{"", "Your PayPal account", "Bank of America alert", "bank  of\tamerica", "Wells Fargo wells fargo", "Apple ID: Microsoft 365 and DHL Express", "Ünïcödé PаyPal", "the new york times digest", strings.Repeat("amazon prime ", 60)} {
		f.Add(s, true)
		f.Add(s, false)
	}
	t := DefaultBrands()
	f.Fuzz(func(tt *testing.T, s string, claimsOnly bool) {
		if got, want := t.Claims(s, claimsOnly), t.claimsBefore(s, claimsOnly); !slices.Equal(got, want) {
			tt.Fatalf("Claims(%q, %v) = %v; before: %v", s, claimsOnly, got, want)
		}
	})
}
