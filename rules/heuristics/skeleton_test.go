package heuristics

import (
	"fmt"
	"testing"
)

func TestSkeleton(t *testing.T) {
	tests := []struct{ in, want string }{
		{"paypal", "paypal"},
		{"PayPal", "paypal"},
		{"pаypal", "paypal"}, // Cyrillic а
		{"αpple", "apple"},   // Greek alpha
		{"paypa1", "paypal"}, // digit one
		{"g00gle", "google"}, // digit zero
		{"rnicrosoft", "microsoft"},
		{"vvellsfargo", "wellsfargo"},
		{"itaú", "itau"},     // accent removed
		{"müller", "muller"}, // an umlaut is a u, nothing more
		{"bäckerei", "backerei"},
		{"xn--", "xn--"},
	}
	for _, tt := range tests {
		if got := skeleton(tt.in); got != tt.want {
			t.Errorf("skeleton(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		max  int
		want int
	}{
		{"amazon", "amazon", 2, 0},
		{"amazon", "amazom", 2, 1},       // substitution
		{"amazon", "amazoon", 2, 1},      // insertion
		{"amazon", "amzon", 2, 1},        // deletion
		{"microsoft", "micorsoft", 2, 1}, // two neighbours swapped: one edit (Damerau)
		{"netflix", "netfilx", 2, 1},
		{"paypal", "paypall1", 2, 2},
		{"paypal", "google", 1, 2}, // beyond max: max+1
		{"ab", "abcdef", 1, 2},     // lengths too far apart
		{"", "", 1, 0},
		{"é", "e", 1, 1}, // runes, not bytes
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b, tt.max); got != tt.want {
			t.Errorf("editDistance(%q, %q, %d) = %d, want %d", tt.a, tt.b, tt.max, got, tt.want)
		}
	}
}

func TestScriptMix(t *testing.T) {
	for in, want := range map[string]bool{
		"pаypal":   true,  // Latin with a Cyrillic а
		"аррle":    true,  // Cyrillic а, р, р with Latin le
		"яндекс":   false, // wholly Cyrillic: Russian, not a disguise
		"müller":   false, // Latin with a diacritic
		"paypal":   false,
		"ελληνικά": false,
	} {
		if got := scriptMix(in); got != want {
			t.Errorf("scriptMix(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestEmbeddedBrandsCompile(t *testing.T) {
	b, err := NewBrands(nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() < 80 {
		t.Errorf("only %d brands in the embedded table", b.Len())
	}
	// Every brand word must be matchable, and no brand may claim another's
	// domain by mistake (a domain listed twice makes BRAND_FROM_NAME blind
	// to one of them).
	seen := map[string]string{}
	for _, e := range b.brands {
		if len(e.phrases) == 0 || len(e.exact)+len(e.wild) == 0 {
			t.Errorf("brand %s has no words or no domains", e.Name)
		}
		for _, d := range e.exact {
			if prev, ok := seen[d]; ok && prev != e.Name {
				t.Errorf("domain %s is listed for %s and %s", d, prev, e.Name)
			}
			seen[d] = e.Name
		}
	}
}

func TestBrandClaims(t *testing.T) {
	b := DefaultBrands()
	name := func(idx []int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, b.Name(i))
		}
		return out
	}
	tests := []struct {
		text string
		news bool // claimsOnly
		want []string
	}{
		{"PayPal Service", false, []string{"PayPal"}},
		{"РayPal", false, []string{"PayPal"}},       // Cyrillic Р
		{"Pay\u200bPal", false, []string{"PayPal"}}, // zero-width space inside
		{"Itaú Unibanco", false, []string{"Itau"}},  // accent
		{"Bank of America alert", false, []string{"Bank of America"}},
		{"User groups meeting", false, nil},  // ups inside groups
		{"Chase Miller", false, nil},         // a first name, not the bank
		{"Google Summer of Code", true, nil}, // news brand in a subject
		{"Google Security", false, []string{"Google"}},
	}
	for _, tt := range tests {
		got := name(b.Claims(tt.text, tt.news))
		if len(got) != len(tt.want) || len(got) > 0 && got[0] != tt.want[0] {
			t.Errorf("Claims(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
	if got := name(b.SenderClaims("Ledger")); len(got) != 1 || got[0] != "Ledger" {
		t.Errorf("SenderClaims(Ledger) = %v: a display name that is all the brand's name claims it", got)
	}
	if got := b.SenderClaims("Ledger Accounting Services"); len(got) != 0 {
		t.Errorf("SenderClaims(Ledger Accounting Services) = %v, want none", name(got))
	}
}

// TestRegisteredDomainCache: cached answers are the lookup's, asked twice
// (the second from the cache), and the cache never outgrows its bound.
func TestRegisteredDomainCache(t *testing.T) {
	for host, want := range map[string]string{
		"www.mail.example.co.uk": "example.co.uk",
		"EXAMPLE.com.":           "example.com",
		"192.0.2.7":              "192.0.2.7",
		"localhost":              "localhost",
		"co.uk":                  "co.uk",
	} {
		for range 2 {
			if got := registeredDomain(host); got != want {
				t.Errorf("registeredDomain(%q) = %q, want %q", host, got, want)
			}
		}
	}
	for i := range hostCacheSize + 10 {
		registeredDomain(fmt.Sprintf("h%d.example.org", i))
	}
	regCache.RLock()
	n := len(regCache.m)
	regCache.RUnlock()
	if n > hostCacheSize {
		t.Errorf("cache holds %d hosts, bound %d", n, hostCacheSize)
	}
}

// FuzzSkeletonASCII holds skeleton's ASCII path to the general one
// (NFKD, the rune map, the pair Replacer) on every input.
func FuzzSkeletonASCII(f *testing.F) {
	for _, s := range []string{"paypal", "PayPal", "rnicrosoft", "vvellsfargo", "c1oud", "rnn", "rrn", "vvv", "cll", "RN-VV|CL", "g00gle", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := skeleton(s), skeletonUnicode(s); got != want {
			t.Fatalf("skeleton(%q) = %q, the general path gives %q", s, got, want)
		}
	})
}

// TestSplitRegistrableCachedAsUncached asks each host twice (the second
// answer from the cache) and holds both to the uncached lookup.
func TestSplitRegistrableCachedAsUncached(t *testing.T) {
	for _, host := range []string{
		"www.paypal.com", "paypal-secure.example.co.uk", "evil.github.io", "192.0.2.1",
		"xn--pypal-4ve.com", "localhost", "co.uk", "", "EXAMPLE.COM.", "a.b.c.web.app",
	} {
		wl, ws, wi := splitRegistrableUncached(host)
		for range 2 {
			if l, s, i := splitRegistrable(host); l != wl || s != ws || i != wi {
				t.Errorf("splitRegistrable(%q) = %q %q %v, uncached %q %q %v", host, l, s, i, wl, ws, wi)
			}
		}
	}
}
