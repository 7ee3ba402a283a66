package heuristics

import (
	"slices"
	"strings"
	"testing"

	"relayguard/rules/message"
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

// FuzzClipEnd holds the brands claimed from the opening clipEnd finds to
// those claimed from message.ClipText's collapsed copy, as newBrandFacts
// read before.
func FuzzClipEnd(f *testing.F) {
	for _, s := range []string{"", "   ", "Your PayPal account is on hold", "  Bank\n\n of \t America  ", strings.Repeat("word ", 70) + "PayPal", strings.Repeat("x", 299) + " Apple ID", strings.Repeat("ab ", 100) + "Amazon", "\u00a0Wells\u3000Fargo\u2028DHL", strings.Repeat("é", 160) + " microsoft", "a\x80\x80 b", strings.Repeat("a ", 150) + "\x80\x80bc"} {
		f.Add(s, 300)
		f.Add(s, 7)
	}
	t := DefaultBrands()
	f.Fuzz(func(tt *testing.T, s string, n int) {
		if n < 0 || n > 1000 {
			return
		}
		end := clipEnd(s, n)
		// The opening, collapsed, is ClipText's text (but for the space
		// ClipText leaves when it cuts right after one): the strong check,
		// since most fuzzed texts claim no brand either way.
		if c, want := strings.Join(strings.Fields(s[:end]), " "), strings.TrimSuffix(message.ClipText(s, n), " "); c != want {
			tt.Fatalf("clipEnd(%q, %d) = %d: %q collapses to %q, ClipText gives %q", s, n, end, s[:end], c, want)
		}
		got := t.Claims(s[:end], true)
		want := t.Claims(message.ClipText(s, n), true)
		if !slices.Equal(got, want) {
			tt.Fatalf("Claims of the opening to clipEnd(%q, %d) = %q: %v; of ClipText's %q: %v", s, n, s[:clipEnd(s, n)], got, message.ClipText(s, n), want)
		}
	})
}
