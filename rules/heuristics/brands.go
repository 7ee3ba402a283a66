package heuristics

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/net/idna"

	"relayguard/internal/mailaddr"
	"relayguard/rules/message"
)

// Heuristics that compare what a message claims to be (a brand named in
// the From display name, the Subject or the opening of the text, the
// recipient's own domain) with where it comes from and where its links
// go, and that spot domains made to look like a brand's or the
// recipient's.

// brandFacts is what the brand heuristics read, worked out once per
// message and brand table.
type brandFacts struct {
	from      message.Address
	fromHost  string
	replyHost string
	// fromUnqualified: the From domain is no usable domain name.
	fromUnqualified bool
	nameClaims      []int // brands the From display name names
	subjClaims      []int // brands the Subject names (news brands left out)
	textClaims      []int // brands the opening of the visible text names (idem)
	// hosts are the distinct hosts of the From and Reply-To addresses and
	// of the links (href and written-out), at most maxBrandHosts.
	hosts []string
}

// brandFactsKey keys the memo of brandFacts per brand table.
type brandFactsKey struct{ t *Brands }

// maxBrandHosts bounds the hosts compared with the brand table per
// message.
const maxBrandHosts = 60

// textOpening is how much of the visible text may claim a brand: the
// heading and greeting, where a lure says whom it is from, and not the
// footer where a newsletter names its partners.
const textOpening = 300

func (in *Input) brands() *Brands {
	if in.Brands != nil {
		return in.Brands
	}
	return DefaultBrands()
}

func facts(in *Input) *brandFacts {
	t := in.brands()
	return in.Msg.Memo(brandFactsKey{t}, func() any { return newBrandFacts(in, t) }).(*brandFacts)
}

func newBrandFacts(in *Input, t *Brands) *brandFacts {
	f := &brandFacts{}
	if a, ok := in.Msg.FirstAddress("From"); ok {
		f.from = a
		f.fromHost = mailaddr.Normalize(a.Domain())
		if f.fromHost == "" && a.Domain() != "" {
			// correios@correios, user@host-without-dot: no domain anyone
			// owns, so no brand's; named as written.
			f.fromHost, f.fromUnqualified = a.Domain(), true
		}
		f.nameClaims = t.SenderClaims(senderName(in.Msg.HeaderText("From"), a, f.fromHost))
	}
	if a, ok := in.Msg.FirstAddress("Reply-To"); ok {
		f.replyHost = mailaddr.Normalize(a.Domain())
	}
	f.subjClaims = t.Claims(in.Msg.HeaderText("Subject"), true)
	f.textClaims = t.Claims(message.ClipText(in.Msg.VisibleText(), textOpening), true)
	// At most maxBrandHosts, so a repeat is found by reading them: no map.
	add := func(h string) {
		if h != "" && len(f.hosts) < maxBrandHosts && !slices.Contains(f.hosts, h) {
			f.hosts = append(f.hosts, h)
		}
	}
	add(f.fromHost)
	add(f.replyHost)
	for _, l := range in.Msg.Links() {
		if l.Source != "src" {
			add(l.Host)
		}
	}
	return f
}

// senderName is the display name as a mail reader shows it: the decoded
// From field without the <address> parts, the address and its domain. It
// reads the whole field because a comma trick ("Microsoft account team ,_
// <x@evil.example>") splits the name from the address for a strict
// parser while the reader still shows both. A name that is the sender's
// own address ("jo...@gmail.com" <jo@gmail.com>) claims nothing.
func senderName(field string, a message.Address, host string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(field, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(field[i:], '>')
		if j < 0 {
			break
		}
		b.WriteString(field[:i])
		b.WriteByte(' ')
		field = field[i+j+1:]
	}
	b.WriteString(field)
	s := strings.ToLower(b.String())
	if a.Addr != "" {
		s = strings.ReplaceAll(s, a.Addr, " ")
	}
	if strings.Contains(host, ".") {
		s = strings.ReplaceAll(s, host, " ")
	}
	return s
}

// claims is every brand the message names in the From name, the Subject or
// the opening of its text.
func (f *brandFacts) claims() []int {
	out := slices.Concat(f.nameClaims, f.subjClaims, f.textClaims)
	slices.Sort(out)
	return slices.Compact(out)
}

// senderIsBrand tells whether the From domain speaks for brand i: one of
// its domains, or an e-mail service provider sending on its behalf. A
// free-mail address never is.
func senderIsBrand(t *Brands, f *brandFacts, i int) bool {
	if f.fromHost == "" || f.fromUnqualified {
		return false
	}
	if t.Freemail(f.fromHost) {
		return false
	}
	return t.Owns(i, f.fromHost) || t.Provider(f.fromHost)
}

// brandFromName: the From display name names a brand and the address is
// not the brand's, nor an e-mail service provider's, nor another listed
// brand's (a brand's mail about a partner, such as Microsoft's LinkedIn):
// "PayPal Service" <x@random.example>. The strong signal.
func brandFromName(in *Input) (string, bool) {
	t, f := in.brands(), facts(in)
	if f.fromHost == "" || len(f.nameClaims) == 0 {
		return "", false
	}
	if selfNamed(f, in.Msg.HeaderText("From")) {
		return "", false
	}
	for _, i := range f.nameClaims {
		if senderIsBrand(t, f, i) || !f.fromUnqualified && t.ownedByAny(f.fromHost, false) {
			continue
		}
		return fmt.Sprintf("%q is not %s", message.ClipText(in.Msg.HeaderText("From"), 80), t.Name(i)), true
	}
	return "", false
}

// selfNamed tells whether the From display name also names the sender's
// own domain ("Lockergnome Apple Core" <news@lockergnome.example>): a
// newsletter whose topic is a brand, not a message posing as it. A domain
// name made of a brand's name and another word (microsoft-support) does
// not count: it is the look-alike rule's.
func selfNamed(f *brandFacts, field string) bool {
	if f.fromUnqualified || f.fromHost == "" {
		return false
	}
	label, _, _ := splitRegistrable(f.fromHost)
	if len(label) < 4 || strings.Contains(label, "-") {
		return false
	}
	name := senderName(field, f.from, "")
	name = strings.ReplaceAll(name, f.from.Addr, " ")
	return strings.Contains(brandWords(name), " "+label+" ")
}

// brandSubject: the Subject names a brand the From domain does not carry
// (weak: newsletters and lists talk about brands; a lure names the one it
// poses as). Not counted when the From name already claims it, nor when
// the message links to the sender's own site (a shop's newsletter:
// "Now you can pay with PayPal").
func brandSubject(in *Input) (string, bool) {
	t, f := in.brands(), facts(in)
	if f.fromHost == "" {
		return "", false
	}
	if linksToSender(in, f) {
		return "", false // a newsletter from its own site, about a brand
	}
	for _, i := range f.subjClaims {
		if slices.Contains(f.nameClaims, i) || t.Owns(i, f.fromHost) || t.Provider(f.fromHost) || t.ownedByAny(f.fromHost, false) {
			continue
		}
		return fmt.Sprintf("subject names %s, sent from %s", t.Name(i), f.fromHost), true
	}
	return "", false
}

// brandLinksElsewhere: the message names a brand (From name, Subject or
// the opening of the text) and has links, but none goes to the brand, and
// none to the sender's own domain either: a newsletter links to its own
// site, a lure to the page that collects passwords. Links to e-mail
// service providers (click tracking) are left out; a message whose only
// links are those is not judged.
func brandLinksElsewhere(in *Input) (string, bool) {
	t, f := in.brands(), facts(in)
	claims := f.claims()
	if len(claims) == 0 {
		return "", false
	}
	fromReg := registeredDomain(f.fromHost)
	var hosts []string
	for _, l := range in.Msg.Links() {
		if l.Source == "src" || l.Host == "" || t.Provider(l.Host) {
			continue
		}
		if fromReg != "" && registeredDomain(l.Host) == fromReg {
			return "", false
		}
		if !slices.Contains(hosts, l.Host) {
			hosts = append(hosts, l.Host)
		}
	}
	if len(hosts) == 0 {
		return "", false
	}
	for _, i := range claims {
		if senderIsBrand(t, f, i) {
			continue
		}
		if slices.ContainsFunc(hosts, func(h string) bool { return t.Owns(i, h) }) {
			continue
		}
		return fmt.Sprintf("names %s, links go to %s", t.Name(i), hostList(hosts, 3)), true
	}
	return "", false
}

// linksToSender tells whether a link goes to the From address's
// registrable domain.
func linksToSender(in *Input, f *brandFacts) bool {
	if f.fromHost == "" || f.fromUnqualified {
		return false
	}
	reg := registeredDomain(f.fromHost)
	for _, l := range in.Msg.Links() {
		if l.Source != "src" && l.Host != "" && registeredDomain(l.Host) == reg {
			return true
		}
	}
	return false
}

func hostList(hosts []string, n int) string {
	if len(hosts) > n {
		return strings.Join(hosts[:n], ", ") + ", ..."
	}
	return strings.Join(hosts, ", ")
}

// brandReplyFreemail: the message claims a brand in its From name or
// Subject and asks for replies at a free-mail address.
func brandReplyFreemail(in *Input) (string, bool) {
	t, f := in.brands(), facts(in)
	if f.replyHost == "" || !t.Freemail(f.replyHost) {
		return "", false
	}
	if registeredDomain(f.replyHost) == registeredDomain(f.fromHost) {
		return "", false
	}
	for _, i := range slices.Concat(f.nameClaims, f.subjClaims) {
		return fmt.Sprintf("claims %s, replies go to %s", t.Name(i), f.replyHost), true
	}
	return "", false
}

// rcptDomainBait: the From display name or the Subject names the
// recipient's own domain ("example.com account notice", "Mailbox for
// user@example.com") or its company name as a whole word, while the
// message comes from another domain: a lure posing as the recipient's own
// IT department. Needs the envelope recipients; free-mail recipients have
// no company to pose as.
func rcptDomainBait(in *Input) (string, bool) {
	t, f := in.brands(), facts(in)
	if f.fromHost == "" {
		return "", false
	}
	fromReg := registeredDomain(f.fromHost)
	name := strings.ToLower(f.from.Name)
	subj := strings.ToLower(in.Msg.HeaderText("Subject"))
	for _, reg := range rcptDomains(in.Rcpts, t) {
		if reg == fromReg {
			continue
		}
		label, _, _ := strings.Cut(reg, ".")
		for _, field := range []struct{ what, text string }{{"From name", name}, {"subject", subj}} {
			if strings.Contains(field.text, reg) {
				return fmt.Sprintf("%s names %s, sent from %s", field.what, reg, f.fromHost), true
			}
			if len(label) >= 4 && strings.Contains(brandWords(field.text), " "+label+" ") {
				return fmt.Sprintf("%s names %s, sent from %s", field.what, label, f.fromHost), true
			}
		}
	}
	return "", false
}

// rcptDomains are the distinct registrable domains of the envelope
// recipients, free-mail domains left out, at most 5.
func rcptDomains(rcpts []string, t *Brands) []string {
	var out []string
	for _, r := range rcpts {
		d := mailaddr.Normalize(mailaddr.Domain(strings.ToLower(r)))
		if d == "" || t.Freemail(d) {
			continue
		}
		reg := registeredDomain(d)
		if !slices.Contains(out, reg) {
			out = append(out, reg)
		}
		if len(out) == 5 {
			break
		}
	}
	return out
}

// lookalike is a host made to look like a name it is not.
type lookalike struct {
	host, like, how string
}

func (l lookalike) String() string {
	return fmt.Sprintf("%s looks like %s (%s)", l.host, l.like, l.how)
}

// unicodeLabel is the first label of host's registrable domain as a
// reader sees it (punycode decoded), with its ICANN flag.
func unicodeLabel(host string) (label, suffix string, icann bool) {
	label, suffix, icann = splitRegistrable(host)
	if strings.HasPrefix(label, "xn--") {
		if u, err := idna.ToUnicode(label); err == nil {
			label = u
		}
	}
	return label, suffix, icann
}

// brandLookalike finds a host, in the From or Reply-To address or a link,
// that is made to look like a brand's domain without being one:
//   - its name has the same skeleton as a brand's (paypa1, pаypal in
//     Cyrillic, rnicrosoft);
//   - it carries a brand's domain as a subdomain (paypal.com.evil.example);
//   - the brand's name is one of its hyphenated words (paypal-secure) or
//     one edit away from it (amazom, micorsoft, for names of 5 letters or
//     more; 2 edits for 9 or more), when the message names that brand too;
//   - it is the brand's name under another ICANN suffix (netflix.xyz), when
//     the message names that brand.
func brandLookalike(in *Input) (string, bool) {
	t, f := in.brands(), facts(in)
	var claimed []int
	claimedOnce := false
	isClaimed := func(idx []int) bool {
		if !claimedOnce {
			claimed, claimedOnce = f.claims(), true
		}
		for _, i := range idx {
			if slices.Contains(claimed, i) {
				return true
			}
		}
		return false
	}
	for _, h := range f.hosts {
		if message.IsIPHost(h) || t.Provider(h) || t.ownedByAny(h, true) {
			continue
		}
		if l, ok := t.lookalikeOf(h, isClaimed); ok {
			return l.String(), true
		}
	}
	return "", false
}

func (t *Brands) lookalikeOf(h string, isClaimed func([]int) bool) (lookalike, bool) {
	// A brand's domain worn as a subdomain: paypal.com.evil.example.
	reg := registeredDomain(h)
	if sub, ok := strings.CutSuffix(h, "."+reg); ok {
		if d, ok := t.brandDomainIn(sub); ok {
			return lookalike{h, d, "brand domain as a subdomain"}, true
		}
	}
	label, _, icann := unicodeLabel(h)
	if label == "" {
		return lookalike{}, false
	}
	sk := skeleton(label)
	if like, ok := t.skeletons[sk]; ok && like != label {
		return lookalike{h, like, "look-alike letters"}, true
	}
	if idx, ok := t.names[label]; ok {
		if icann && isClaimed(idx) {
			return lookalike{h, label, "brand name under another suffix"}, true
		}
		return lookalike{}, false
	}
	if _, ok := t.labels[label]; ok {
		return lookalike{}, false // a brand's own label under a suffix not listed
	}
	if strings.Contains(sk, "-") {
		// Word by word, without strings.Split's slice for each host.
		for w := range strings.SplitSeq(sk, "-") {
			if idx, ok := t.names[w]; ok && isClaimed(idx) {
				return lookalike{h, w, "brand name in the domain"}, true
			}
		}
	}
	for _, n := range t.fuzzy {
		if isClaimed(n.brands) && editDistance(sk, n.skeleton, n.distance) <= n.distance {
			return lookalike{h, n.name, "one letter off"}, true
		}
	}
	return lookalike{}, false
}

// lookalikeDistance is the edit distance within which a name is taken
// for label: 0 (never) below 5 letters, where one edit makes another
// word, 1 from 5, 2 from 9.
func lookalikeDistance(label string) int {
	switch n := len([]rune(label)); {
	case n >= 9:
		return 2
	case n >= 5:
		return 1
	}
	return 0
}

// rcptLookalike finds a From, Reply-To or link host that looks like the
// recipient's own domain without being it: acrne.example for
// acme.example, a lure posing as the recipient's IT department.
func rcptLookalike(in *Input) (string, bool) {
	t, f := in.brands(), facts(in)
	for _, reg := range rcptDomains(in.Rcpts, t) {
		want, _, _ := strings.Cut(reg, ".")
		wsk := skeleton(want)
		maxd := lookalikeDistance(want)
		for _, h := range f.hosts {
			if message.IsIPHost(h) || registeredDomain(h) == reg || t.Provider(h) {
				continue
			}
			label, _, _ := unicodeLabel(h)
			if label == "" || label == want {
				continue
			}
			sk := skeleton(label)
			if sk == wsk || maxd > 0 && editDistance(sk, wsk, maxd) <= maxd {
				return lookalike{h, reg, "the recipient's domain"}.String(), true
			}
		}
	}
	return "", false
}

// punycodeHost: the From domain or a link's host is an internationalised
// name (xn--), which a reader sees in Unicode letters. Weak on its own:
// real IDNs (müller.de) are punycode too.
func punycodeHost(in *Input) (string, bool) {
	for _, h := range facts(in).hosts {
		if hasPunycodeLabel(h) {
			u, err := idna.ToUnicode(h)
			if err != nil {
				return h, true
			}
			return fmt.Sprintf("%s (%s)", h, u), true
		}
	}
	return "", false
}

// hasPunycodeLabel tells whether a label of host starts with "xn--": a
// label starts at the host's start or after a dot, so no split (a new
// slice for every host of every message) is needed to find one.
func hasPunycodeLabel(host string) bool {
	return strings.HasPrefix(host, "xn--") || strings.Contains(host, ".xn--")
}

// mixedScriptHost: a label of the From domain or a link's host mixes
// Latin letters with Cyrillic or Greek ones (pаypal with a Cyrillic а).
func mixedScriptHost(in *Input) (string, bool) {
	for _, h := range facts(in).hosts {
		if !strings.Contains(h, "xn--") {
			continue
		}
		for _, l := range strings.Split(h, ".") {
			if !strings.HasPrefix(l, "xn--") {
				continue
			}
			u, err := idna.ToUnicode(l)
			if err == nil && scriptMix(u) {
				return fmt.Sprintf("%s (%s)", h, u), true
			}
		}
	}
	return "", false
}
