package heuristics

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unsafe"

	"github.com/BurntSushi/toml"
	"golang.org/x/net/publicsuffix"
	"golang.org/x/text/unicode/norm"

	"relayguard/internal/mailaddr"
)

// The brand table: frequently impersonated brands with the words that name
// them and the domains that are theirs (brands.toml), the e-mail service
// providers that send on their behalf, and the free-mail domains.

//go:embed brands.toml
var brandsTOML []byte

// Brand is one frequently impersonated brand.
type Brand struct {
	// Name is how findings name it.
	Name string `toml:"name"`
	// Words name it in mail: whole words after normalisation; several
	// words are a phrase.
	Words []string `toml:"words"`
	// Domains are its registrable domains; "label.*" is label under any
	// ICANN public suffix.
	Domains []string `toml:"domains"`
	// News marks a brand everyone writes about (Google, Microsoft): a
	// Subject or text naming it is news, not a claim; only the From
	// display name claims it.
	News bool `toml:"news"`
}

// Brands is a compiled brand table, immutable and shared.
type Brands struct {
	brands    []brandEntry
	providers map[string]bool
	freemail  map[string]bool
	// labels maps the first label of every brand domain (3 letters or
	// more) to the brands it belongs to, for look-alikes.
	labels map[string][]int
	// skeletons maps skeleton(label) to the label, for labels of 4
	// letters or more.
	skeletons map[string]string
	// names are the labels that are also a brand's name, written as one
	// word (paypal, wellsfargo), with their brands: the names a domain
	// carries to pose as the brand (paypal-secure, netflix.xyz).
	names map[string][]int
	// domains holds every brand domain, and wild every label written
	// "label.*", so a host is looked up label by label instead of against
	// every brand.
	domains map[string]bool
	wild    map[string]bool
	// byFirst maps the first word of each brand phrase to the phrases
	// that start with it, so Claims reads the text once.
	byFirst map[string][]phraseRef
	// fuzzy are the names a host label may miss by an edit or two
	// (lookalikeDistance > 0), with their skeletons, in name order: worked
	// out once here rather than for every host of every message.
	fuzzy []fuzzyName
}

type fuzzyName struct {
	name, skeleton string
	brands         []int
	distance       int
}

// phraseRef is one brand phrase, split into words, and its brand.
type phraseRef struct {
	brand int
	words []string
}

type brandEntry struct {
	Brand
	phrases []string        // normalised words, " w1 w2 "
	joined  []string        // the words written as one (bank of america: bankofamerica)
	name    string          // the brand's name, normalised
	exact   []string        // domains, a host matches them or a subdomain
	wild    map[string]bool // labels written "label.*"
}

type brandFile struct {
	Providers []string `toml:"providers"`
	Freemail  []string `toml:"freemail"`
	Brand     []Brand  `toml:"brand"`
}

var (
	defaultBrandsOnce sync.Once
	defaultBrands     *Brands
	defaultBrandsErr  error
)

// DefaultBrands is the embedded brand table.
func DefaultBrands() *Brands {
	defaultBrandsOnce.Do(func() {
		defaultBrands, defaultBrandsErr = NewBrands(nil)
	})
	if defaultBrandsErr != nil {
		// The embedded file is checked by the tests; a broken build is a bug.
		panic("heuristics: embedded brands.toml: " + defaultBrandsErr.Error())
	}
	return defaultBrands
}

// NewBrands compiles the embedded table with extra brands on top: a brand
// of the same name (case-insensitive) replaces the embedded one, and a
// brand with no words removes it.
func NewBrands(extra []Brand) (*Brands, error) {
	var f brandFile
	if err := toml.Unmarshal(brandsTOML, &f); err != nil {
		return nil, fmt.Errorf("brands: %w", err)
	}
	list := f.Brand
	for _, e := range extra {
		i := slices.IndexFunc(list, func(b Brand) bool { return strings.EqualFold(b.Name, e.Name) })
		if i >= 0 {
			list = slices.Delete(slices.Clone(list), i, i+1)
		}
		if len(e.Words) > 0 {
			list = append(list, e)
		}
	}
	t := &Brands{providers: map[string]bool{}, freemail: map[string]bool{}, labels: map[string][]int{},
		skeletons: map[string]string{}, names: map[string][]int{}, domains: map[string]bool{}, wild: map[string]bool{},
		byFirst: map[string][]phraseRef{}}
	for _, d := range f.Providers {
		t.providers[strings.ToLower(d)] = true
	}
	for _, d := range f.Freemail {
		t.freemail[strings.ToLower(d)] = true
	}
	for _, b := range list {
		e, err := compileBrand(b)
		if err != nil {
			return nil, err
		}
		idx := len(t.brands)
		t.brands = append(t.brands, e)
		for _, d := range e.exact {
			t.domains[d] = true
		}
		for l := range e.wild {
			t.wild[l] = true
		}
		for _, p := range e.phrases {
			words := strings.Fields(p)
			t.byFirst[words[0]] = append(t.byFirst[words[0]], phraseRef{idx, words})
		}
		for _, l := range e.labels() {
			if !slices.Contains(t.labels[l], idx) {
				t.labels[l] = append(t.labels[l], idx)
			}
			if len(l) >= 4 {
				t.skeletons[skeleton(l)] = l
			}
			if slices.Contains(e.phrases, " "+l+" ") || slices.Contains(e.joined, l) {
				t.names[l] = append(t.names[l], idx)
			}
		}
	}
	for name, idx := range t.names {
		if d := lookalikeDistance(name); d > 0 {
			t.fuzzy = append(t.fuzzy, fuzzyName{name: name, skeleton: skeleton(name), brands: idx, distance: d})
		}
	}
	slices.SortFunc(t.fuzzy, func(a, b fuzzyName) int { return strings.Compare(a.name, b.name) })
	return t, nil
}

// CheckBrand reports what is wrong with a brand as written in a rule
// file, or "" when it compiles.
func CheckBrand(b Brand) string {
	if _, err := compileBrand(b); err != nil {
		return err.Error()
	}
	return ""
}

func compileBrand(b Brand) (brandEntry, error) {
	e := brandEntry{Brand: b, wild: map[string]bool{}, name: brandWords(b.Name)}
	if strings.TrimSpace(b.Name) == "" {
		return e, fmt.Errorf("brand without a name")
	}
	for _, w := range b.Words {
		p := brandWords(w)
		if strings.TrimSpace(p) == "" {
			return e, fmt.Errorf("brand %s: word %q has no letters", b.Name, w)
		}
		e.phrases = append(e.phrases, p)
		e.joined = append(e.joined, strings.ReplaceAll(p, " ", ""))
	}
	for _, d := range b.Domains {
		d = strings.ToLower(strings.TrimSpace(d))
		if label, ok := strings.CutSuffix(d, ".*"); ok {
			if label == "" || strings.Contains(label, ".") || !mailaddr.ValidDomain(label) {
				return e, fmt.Errorf("brand %s: %q: write label.* with one label", b.Name, d)
			}
			e.wild[label] = true
			continue
		}
		if !mailaddr.ValidDomain(d) || !strings.Contains(d, ".") {
			return e, fmt.Errorf("brand %s: %q is not a domain name", b.Name, d)
		}
		e.exact = append(e.exact, d)
	}
	return e, nil
}

// labels are the names look-alikes of the brand are measured against: the
// first label of each registrable domain, 3 letters or more.
func (e brandEntry) labels() []string {
	var out []string
	add := func(l string) {
		if len(l) >= 3 && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	for l := range e.wild {
		add(l)
	}
	for _, d := range e.exact {
		if r, ok := mailaddr.Registrable(d); ok {
			l, _, _ := strings.Cut(r, ".")
			add(l)
		}
	}
	slices.Sort(out)
	return out
}

// owns tells whether host is one of the brand's domains or under one.
func (e brandEntry) owns(host string) bool {
	for _, d := range e.exact {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	if len(e.wild) > 0 {
		if label, _, icann := splitRegistrable(host); icann && e.wild[label] {
			return true
		}
	}
	return false
}

// splitRegistrable returns the first label of host's registrable domain
// and its public suffix, and whether that suffix is an ICANN one (com,
// co.uk) rather than a private one (github.io, web.app).
func splitRegistrable(host string) (label, suffix string, icann bool) {
	r := splitCache.get(host, lookupSplit)
	return r.label, r.suffix, r.icann
}

// splitCache keeps splitRegistrable's answers: the look-alike check asks
// twice about each host of a message (whether a brand owns it, and its
// label), and each answer costs two public suffix lookups, each trying
// the name as an IP address first, an allocated error for a name.
var splitCache = newHostCache[registrableSplit]()

type registrableSplit struct {
	label, suffix string
	icann         bool
}

func lookupSplit(host string) registrableSplit {
	label, suffix, icann := splitRegistrableUncached(host)
	return registrableSplit{label, suffix, icann}
}

// splitRegistrableUncached is splitRegistrable without the cache.
func splitRegistrableUncached(host string) (label, suffix string, icann bool) {
	reg, ok := mailaddr.Registrable(host)
	if !ok {
		return "", "", false
	}
	label, suffix, _ = strings.Cut(reg, ".")
	_, icann = publicsuffix.PublicSuffix(host)
	return label, suffix, icann
}

// Len is the number of brands.
func (t *Brands) Len() int { return len(t.brands) }

// Name is brand i's name.
func (t *Brands) Name(i int) string { return t.brands[i].Name }

// Owns tells whether host belongs to brand i.
func (t *Brands) Owns(i int, host string) bool { return t.brands[i].owns(host) }

// ownedByAny tells whether host belongs to some brand; free-mail domains
// count only when ownFreemail is set (a brand's address there is
// anyone's).
func (t *Brands) ownedByAny(host string, ownFreemail bool) bool {
	if !ownFreemail && t.Freemail(host) {
		return false
	}
	if inDomainSet(t.domains, host) {
		return true
	}
	if len(t.wild) > 0 {
		label, _, icann := splitRegistrable(host)
		return icann && t.wild[label]
	}
	return false
}

// Provider tells whether host belongs to an e-mail service provider.
func (t *Brands) Provider(host string) bool { return inDomainSet(t.providers, host) }

// Freemail tells whether host is a free-mail domain (the domain itself:
// reply.yahoo.com is Yahoo's, not a mailbox anyone may have).
func (t *Brands) Freemail(host string) bool { return t.freemail[host] }

func inDomainSet(set map[string]bool, host string) bool {
	for h := host; h != ""; {
		if set[h] {
			return true
		}
		_, rest, ok := strings.Cut(h, ".")
		if !ok {
			return false
		}
		h = rest
	}
	return false
}

// Claims lists the brands that text names, by index, in table order.
// With claimsOnly set, brands marked news are left out.
func (t *Brands) Claims(text string, claimsOnly bool) []int {
	if text == "" {
		return nil
	}
	var folded string
	if len(text) <= claimsBuf-2 && isASCII(text) {
		// The words are only looked up and compared here, never kept, so
		// they can be read from a buffer on the stack, not a new string.
		var fb [claimsBuf]byte
		w := appendBrandWordsASCII(fb[:0], text)
		folded = unsafe.String(unsafe.SliceData(w), len(w))
	} else {
		folded = brandWords(text)
	}
	// Words as offsets into folded, not strings: a string stored in a
	// slice would make the stack buffer escape to the heap.
	var buf [64]wordSpan // most texts claimed from (a name, a Subject, 300 bytes) fit
	words := spaceSpans(buf[:0], folded)
	var out []int
	for i, sp := range words {
		for _, p := range t.byFirst[folded[sp.start:sp.end]] {
			if claimsOnly && t.brands[p.brand].News || slices.Contains(out, p.brand) {
				continue
			}
			if len(words)-i < len(p.words) {
				continue
			}
			same := true
			for k, pw := range p.words {
				if w := words[i+k]; folded[w.start:w.end] != pw {
					same = false
					break
				}
			}
			if same {
				out = append(out, p.brand)
			}
		}
	}
	slices.Sort(out) // table order, as callers expect
	return out
}

// wordSpan is where a word of a text starts and ends.
type wordSpan struct{ start, end int }

// spaceSpans appends to words the places of the runs of s between ASCII
// spaces, the words strings.Fields finds in brandWords' output (words and
// single spaces), into the caller's buffer rather than a new slice.
func spaceSpans(words []wordSpan, s string) []wordSpan {
	for i := 0; i < len(s); {
		k := strings.IndexByte(s[i:], ' ')
		if k < 0 {
			return append(words, wordSpan{i, len(s)})
		}
		if k > 0 {
			words = append(words, wordSpan{i, i + k})
		}
		i += k + 1
	}
	return words
}

func (t *Brands) hasDomain(d string) bool { return t.domains[d] }

// brandDomainIn finds a brand domain written as a whole run of labels of
// sub (the part of a host left of its registrable domain): paypal.com in
// paypal.com.secure-login, and the brand whose domain it is.
func (t *Brands) brandDomainIn(sub string) (string, bool) {
	// A run of labels i..j-1 joined by dots is the substring of sub from
	// label i's start to label j-1's end, so the candidates are read in
	// place: no split, no joined copy per candidate. ends holds each
	// label's end (a dot's offset, or len(sub) for the last).
	var buf [16]int
	ends := buf[:0]
	for i := 0; ; {
		k := strings.IndexByte(sub[i:], '.')
		if k < 0 {
			ends = append(ends, len(sub))
			break
		}
		ends = append(ends, i+k)
		i += k + 1
	}
	start := 0
	for i := range ends {
		for j := len(ends); j > i+1; j-- { // brand domains have two labels or more
			if d := sub[start:ends[j-1]]; t.hasDomain(d) {
				return d, true
			}
		}
		start = ends[i] + 1
	}
	return "", false
}

// SenderClaims lists the brands that a From display name claims: those it
// names (news brands too), and the brand whose name it is, whole ("Ledger",
// "Chase": a name too common to be a brand word, but a brand when it is
// all the display name says).
func (t *Brands) SenderClaims(name string) []int {
	out := t.Claims(name, false)
	w := brandWords(name)
	for i, e := range t.brands {
		if w == e.name && !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

// brandWords normalises text for brand matching: lower case, NFKD with
// marks removed (Itaú → itau), look-alike letters mapped to Latin
// (РayPal → paypal), invisible characters dropped, everything that is not
// a letter or digit a word break; the words are joined by single spaces
// with a space at each end, so " ups " never matches inside "groups".
func brandWords(s string) string {
	if isASCII(s) {
		return brandWordsASCII(s)
	}
	return brandWordsUnicode(s)
}

func brandWordsUnicode(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(' ')
	space := true
	for _, r := range norm.NFKD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r), unicode.Is(unicode.Cf, r):
			continue // marks, zero-width and bidi characters
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			r = unicode.ToLower(r)
			if m, ok := skeletonRunes[r]; ok && !unicode.IsDigit(r) && r != '|' {
				r = m
			}
			b.WriteRune(r)
			space = false
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	if !space {
		b.WriteByte(' ')
	}
	return b.String()
}

// brandWordsASCII is brandWords for ASCII text, most Subjects and names:
// NFKD changes no ASCII, no ASCII character is a mark, and the look-alikes
// brandWords maps among ASCII are digits and '|', which it leaves alone.
func brandWordsASCII(s string) string {
	b := appendBrandWordsASCII(make([]byte, 0, len(s)+2), s)
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// claimsBuf is the stack buffer Claims folds an ASCII text into: the 300
// bytes of text opening, most Subjects and names fit.
const claimsBuf = 512

// appendBrandWordsASCII appends brandWordsASCII(s) to dst.
func appendBrandWordsASCII(dst []byte, s string) []byte {
	dst = append(dst, ' ')
	space := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			dst = append(dst, c+'a'-'A')
			space = false
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			dst = append(dst, c)
			space = false
		case !space:
			dst = append(dst, ' ')
			space = true
		}
	}
	if !space {
		dst = append(dst, ' ')
	}
	return dst
}
