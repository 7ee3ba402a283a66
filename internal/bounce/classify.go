package bounce

import (
	"net/netip"
	"regexp"
	"strings"
)

// List is a blocklist or reputation service a remote named.
type List struct {
	Name string `json:"name"`
	// Zones are the DNS zone suffixes the list answers under
	// ("spamhaus.org"): a configured [[dnsbl]] under one of them is this
	// list. Empty for services with no public DNS zone (Microsoft,
	// Proofpoint, Cloudmark).
	Zones []string `json:"zones,omitempty"`
	// Query is the zone to ask when none is configured ("zen.spamhaus.org").
	Query       string `json:"query,omitempty"`
	RemovalPage string `json:"removal_page,omitempty"`
	// Reputation is set for services that score senders rather than list
	// them (Talos, Proofpoint): their refusals are a reputation problem.
	Reputation bool `json:"-"`
	// Note is a fact worth telling with this list.
	Note string `json:"note,omitempty"`

	match *regexp.Regexp
}

// knownLists are the lists and reputation services remotes name in their
// replies. The removal pages are the ones of config/default.toml's
// [blocklists.removal_pages] where that table has the list (a test in
// cmd/relayguard holds them equal); the caller's table overrides them.
var knownLists = []List{
	{Name: "Spamhaus", Zones: []string{"spamhaus.org", "spamhaus.net", "abuseat.org"}, Query: "zen.spamhaus.org",
		RemovalPage: "https://check.spamhaus.org/", match: regexp.MustCompile(`(?i)spamhaus|abuseat\.org|\bcbl\b`)},
	{Name: "SpamCop", Zones: []string{"spamcop.net"}, Query: "bl.spamcop.net",
		RemovalPage: "https://www.spamcop.net/bl.shtml", match: regexp.MustCompile(`(?i)spamcop`)},
	{Name: "Barracuda", Zones: []string{"barracudacentral.org"}, Query: "b.barracudacentral.org",
		RemovalPage: "https://www.barracudacentral.org/rbl/removal-request", match: regexp.MustCompile(`(?i)barracuda`)},
	{Name: "UCEPROTECT", Zones: []string{"uceprotect.net"}, Query: "dnsbl-1.uceprotect.net",
		RemovalPage: "https://www.uceprotect.net/en/rblcheck.php", match: regexp.MustCompile(`(?i)uceprotect`)},
	{Name: "SORBS", Zones: []string{"sorbs.net"}, Query: "dnsbl.sorbs.net", RemovalPage: "",
		Note:  "SORBS closed in 2024: a remote still refusing mail on it should stop using it; tell its postmaster",
		match: regexp.MustCompile(`(?i)\bsorbs\b`)},
	{Name: "Mailspike", Zones: []string{"mailspike.net"}, Query: "bl.mailspike.net",
		RemovalPage: "https://mailspike.org/", match: regexp.MustCompile(`(?i)mailspike`)},
	{Name: "PSBL", Zones: []string{"psbl.surriel.com"}, Query: "psbl.surriel.com",
		RemovalPage: "https://psbl.org/remove", match: regexp.MustCompile(`(?i)\bpsbl\b|surriel\.com`)},
	{Name: "invaluement", Zones: []string{"invaluement.com"},
		RemovalPage: "https://www.invaluement.com/lookup/",
		Note:        "invaluement's lists (ivmSIP, ivmURI) are queried by subscribers only: check the IP on its lookup page",
		match:       regexp.MustCompile(`(?i)invaluement|\bivm(?:uri|sip)`)},
	{Name: "blocklist.de", Zones: []string{"blocklist.de"}, Query: "bl.blocklist.de",
		RemovalPage: "https://www.blocklist.de/en/delist.html", match: regexp.MustCompile(`(?i)blocklist\.de`)},
	{Name: "DroneBL", Zones: []string{"dronebl.org"}, Query: "dnsbl.dronebl.org",
		RemovalPage: "https://dronebl.org/lookup", match: regexp.MustCompile(`(?i)dronebl`)},
	{Name: "Abusix", Zones: []string{"abusix.zone"},
		RemovalPage: "https://lookup.abusix.com/", match: regexp.MustCompile(`(?i)abusix`)},
	{Name: "Microsoft 365 (Exchange Online)", RemovalPage: "https://sender.office.com/",
		match: regexp.MustCompile(`(?i)banned sending IP|sender\.office\.com`)},
	{Name: "Microsoft (Outlook.com, Hotmail)",
		RemovalPage: "https://olcsupport.office.com/",
		match:       regexp.MustCompile(`(?i)\bS3140\b|\bS3150\b|\bS3115\b|on our block list`)},
	{Name: "Cloudmark (CSI)", RemovalPage: "https://csi.cloudmark.com/en/reset/",
		match: regexp.MustCompile(`(?i)cloudmark|\bCSI\b`)},
	{Name: "Proofpoint", RemovalPage: "https://ipcheck.proofpoint.com/",
		match: regexp.MustCompile(`(?i)proofpoint|pphosted`)},
	{Name: "Yahoo", RemovalPage: "https://senders.yahooinc.com/contact", Reputation: true,
		match: regexp.MustCompile(`\bTSS09\b|permanently deferred`)},
	{Name: "Cisco Talos (SenderBase)", RemovalPage: "https://talosintelligence.com/reputation_center/", Reputation: true,
		match: regexp.MustCompile(`(?i)senderbase|talos`)},
}

var (
	spamContentRe  = regexp.MustCompile(`(?i)classified as spam|\bspam score|your score|score[=:]|\bhits=|looks like spam|\bdetected as spam|rejected as spam|\bis spam\b|unsolicited|spam content|content (?:filter|rejected)|high probability of being spam|\bspam message`)
	reputationRe   = regexp.MustCompile(`(?i)reputation|\bpoor sender|\bsender score`)
	blocklistRe    = regexp.MustCompile(`(?i)black ?list|block ?list|\bblocked using\b|\brbl\b|\bdnsbl\b|listed (?:at|on|in|by)\b`)
	listedAtRe     = regexp.MustCompile(`(?i)(?:blacklisted|blocklisted|listed|blocked using)\s+(?:at|on|in|by)?\s*([A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9])`)
	authRe         = regexp.MustCompile(`(?i)\bspf\b|\bdkim\b|\bdmarc\b|not authenticated|unauthenticated|authentication (?:check|fail)`)
	unknownRcptRe  = regexp.MustCompile(`(?i)user unknown|unknown user|no such (?:user|mailbox|recipient)|does not exist|doesn't exist|recipient not found|recipientnotfound|mailbox not found|mailbox unavailable|invalid recipient|unrouteable address|address not found|no mailbox|not a valid mailbox|unknown recipient|account (?:is )?disabled|couldn't be found`)
	mailboxFullRe  = regexp.MustCompile(`(?i)quota|mailbox (?:is )?full|insufficient (?:storage|system storage)|out of storage`)
	tooBigRe       = regexp.MustCompile(`(?i)too (?:big|large)|size limit|exceeds (?:the )?(?:maximum|size)|message size`)
	relayRe        = regexp.MustCompile(`(?i)relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited)|unable to relay|not (?:permitted|allowed) to relay|relay not permitted|we do not relay`)
	tlsRe          = regexp.MustCompile(`(?i)starttls|\btls\b|encryption`)
	rateRe         = regexp.MustCompile(`(?i)\brate\b|rate limit|too many|unexpected volume|temporarily deferred|unusual (?:rate|amount)|throttl|\bTSS0[14]\b|try again later|exceeded`)
	greylistWordRe = regexp.MustCompile(`(?i)gr[ae]y-?list`)
	greylistRe     = regexp.MustCompile(`(?i)gr[ae]y-?list|try again later|please retry|temporarily rejected`)
	scoreRe        = regexp.MustCompile(`(?i)(?:your score|spam score|score|hits)\s*(?:is|of|:|=)?\s*(-?[0-9]+(?:\.[0-9]+)?)`)
	ipv4Re         = regexp.MustCompile(`\b[0-9]{1,3}(?:\.[0-9]{1,3}){3}\b`)
	ipv6Re         = regexp.MustCompile(`\[([0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)\]`)
)

// classify sets f's category, list, listed IP and score from its codes
// and text. Named lists come first (a Spamhaus refusal is one whatever its
// enhanced code), then the enhanced codes with one meaning (RFC 3463,
// RFC 7372 for 5.7.23-5.7.29, Gmail's 4.7.28), then the words.
func classify(f *Failure) {
	text := f.Text
	if m := scoreRe.FindStringSubmatch(text); m != nil && spamContentRe.MatchString(text) {
		f.Score = m[1]
	}
	if l := namedList(text); l != nil {
		f.List = l
		switch {
		case spamContentRe.MatchString(text) && !blocklistRe.MatchString(text):
			f.Category = SpamContent
		case l.Reputation || reputationRe.MatchString(text) && !blocklistRe.MatchString(text):
			f.Category = Reputation
		default:
			f.Category = Blocklist
		}
		f.ListedIP = listedIP(f)
		return
	}
	switch {
	case f.Enhanced == "5.1.1" || f.Enhanced == "5.1.10" || f.Enhanced == "5.1.2" || f.Enhanced == "5.1.6":
		f.Category = UnknownRecipient
	case f.Enhanced == "5.2.2" || f.Enhanced == "4.2.2":
		f.Category = MailboxFull
	case f.Enhanced == "5.3.4" || f.Enhanced == "5.2.3":
		f.Category = TooBig
	case strings.HasSuffix(f.Enhanced, ".7.28"):
		f.Category = RateLimited
	case strings.HasPrefix(f.Enhanced, "5.7.2") && len(f.Enhanced) == 6 && f.Enhanced >= "5.7.20" && f.Enhanced <= "5.7.27":
		f.Category = Authentication
	case f.Enhanced == "5.7.10" || f.Enhanced == "5.7.11":
		f.Category = TLSRequired
	case f.Temporary && greylistWordRe.MatchString(text):
		f.Category = Greylisted
	case spamContentRe.MatchString(text):
		f.Category = SpamContent
	case reputationRe.MatchString(text):
		f.Category = Reputation
	case blocklistRe.MatchString(text):
		f.Category = Blocklist
		if m := listedAtRe.FindStringSubmatch(text); m != nil && !strings.EqualFold(m[1], "the") {
			name := strings.ToLower(m[1])
			l := &List{Name: m[1]}
			if strings.Contains(name, ".") {
				l.Zones, l.Query = []string{name}, name
			}
			f.List = l
		}
		f.ListedIP = listedIP(f)
	case authRe.MatchString(text):
		f.Category = Authentication
	case unknownRcptRe.MatchString(text):
		f.Category = UnknownRecipient
	case mailboxFullRe.MatchString(text):
		f.Category = MailboxFull
	case tooBigRe.MatchString(text):
		f.Category = TooBig
	case relayRe.MatchString(text):
		f.Category = RelayDenied
	case tlsRe.MatchString(text):
		f.Category = TLSRequired
	case rateRe.MatchString(text) && !greylistRe.MatchString(text) || f.Code == 421 && rateRe.MatchString(text):
		f.Category = RateLimited
	case f.Temporary && greylistRe.MatchString(text):
		f.Category = Greylisted
	case rateRe.MatchString(text):
		f.Category = RateLimited
	default:
		f.Category = Unknown
	}
}

func namedList(text string) *List {
	for i := range knownLists {
		if knownLists[i].match.MatchString(text) {
			l := knownLists[i]
			l.match = nil
			l.Name = subList(l.Name, text)
			return &l
		}
	}
	return nil
}

// subList names the Spamhaus list inside ZEN when the text says which.
func subList(name, text string) string {
	if name != "Spamhaus" {
		return name
	}
	lower := strings.ToLower(text)
	for _, sub := range []string{"sbl", "xbl", "pbl", "css", "dbl"} {
		if strings.Contains(lower, sub+".spamhaus") || strings.Contains(lower, "/"+sub+"/") ||
			strings.Contains(lower, "spamhaus "+sub) || strings.Contains(lower, sub+"-") {
			return "Spamhaus " + strings.ToUpper(sub)
		}
	}
	if strings.Contains(lower, "zen.spamhaus") {
		return "Spamhaus ZEN"
	}
	return name
}

// listedIP is the address the remote says is listed: the first public
// one in its text that is not the remote's own.
func listedIP(f *Failure) string {
	var cands []string
	for _, m := range ipv4Re.FindAllStringIndex(f.Text, 20) {
		// "zen.spamhaus.org/query/ip/1.2.3.4" and "[1.2.3.4]" alike.
		cands = append(cands, f.Text[m[0]:m[1]])
	}
	for _, m := range ipv6Re.FindAllStringSubmatch(f.Text, 20) {
		cands = append(cands, m[1])
	}
	for _, c := range cands {
		a, err := netip.ParseAddr(c)
		if err != nil || a.IsLoopback() || a.IsUnspecified() || a.String() == f.RemoteIP {
			continue
		}
		if a.Is4() && a.As4()[0] == 127 {
			continue // a list's return code, not an address
		}
		return a.String()
	}
	return ""
}

// advise is what to do next, in plain words.
func advise(f *Failure) string {
	var b strings.Builder
	switch f.Category {
	case Blocklist:
		who := "a blocklist"
		if f.List != nil {
			who = f.List.Name
		}
		b.WriteString("The receiving server refused the mail because the sending server's IP")
		if f.ListedIP != "" {
			b.WriteString(" (" + f.ListedIP + ")")
		}
		b.WriteString(" is listed on " + who + ". Find and stop what sent the spam (a compromised account, a form, a forwarder), then ask for removal")
		if f.List != nil && f.List.RemovalPage != "" {
			b.WriteString(" at " + f.List.RemovalPage)
		}
		b.WriteString(". Until then, send through another server whose IP is not listed.")
	case Reputation:
		b.WriteString("The receiving server refused the sending server's IP for its reputation, not for this message. Reputation recovers as the IP sends wanted mail: stop any spam, remove bounced and complaining addresses, and check the IP's standing")
		if f.List != nil && f.List.RemovalPage != "" {
			b.WriteString(" at " + f.List.RemovalPage)
		}
		b.WriteString(". Ask the recipient to add you to their allow list meanwhile.")
	case SpamContent:
		b.WriteString("The receiving server's filter scored the message itself as spam")
		if f.Score != "" {
			b.WriteString(" (score " + f.Score + ")")
		}
		b.WriteString(". Send it again with plain text alongside the HTML, fewer links and images, no URL shorteners, and make sure the sending domain has SPF, DKIM and DMARC and the server has reverse DNS.")
	case Authentication:
		b.WriteString("The receiving server could not verify that the sending domain allows this server to send for it (SPF, DKIM or DMARC). Check the domain's SPF record names this server, that it signs with DKIM, and that the From domain aligns with one of them.")
	case UnknownRecipient:
		b.WriteString("The address does not exist at the receiving server. Check its spelling")
		if f.Suggestion != "" {
			b.WriteString(": did you mean " + f.Suggestion + "?")
		} else {
			b.WriteString(", or ask the recipient for the right one.")
		}
	case MailboxFull:
		b.WriteString("The recipient's mailbox is full. Tell them by another way; send again once they have made room.")
	case RateLimited:
		b.WriteString("The receiving server is slowing down mail from this server (too much at once, or complaints). The mail is retried; if it keeps happening, send less at a time and check for a compromised account sending in bulk.")
	case Greylisted:
		b.WriteString("The receiving server asks unknown senders to try again later (greylisting). Nothing to do: the sending server retries and the mail usually arrives within the hour.")
	case TooBig:
		b.WriteString("The message is larger than the receiving server accepts. Send the attachment as a link, or compress or split it.")
	case RelayDenied:
		b.WriteString("The receiving server does not accept mail for that domain from this sender. Check the recipient's domain is spelt right and its MX records point at its own servers; if you sent through your provider, log in (SMTP authentication) first.")
	case TLSRequired:
		b.WriteString("The receiving server requires an encrypted connection (TLS). Enable STARTTLS in the sending server.")
	default:
		if f.Text == "" {
			b.WriteString("The bounce does not say why (it may have been cut before the reason): paste the whole bounce, including the lines after \"failed:\". A misspelt address is the most common cause.")
		} else {
			b.WriteString("The reason is not one this explainer knows; read the remote's text above, and ask the recipient's postmaster if it is unclear.")
		}
	}
	if f.List != nil && f.List.Note != "" {
		b.WriteString(" " + f.List.Note + ".")
	}
	if f.Temporary && f.Category != Greylisted && f.Category != RateLimited {
		b.WriteString(" This was a temporary refusal: the sending server tries again for a while.")
	}
	return b.String()
}

// Lists returns the built-in lists and reputation services, so callers
// can hold their own tables (removal pages, DNS zones) to this one.
func Lists() []List {
	out := make([]List, len(knownLists))
	for i, l := range knownLists {
		l.match = nil
		out[i] = l
	}
	return out
}

// Describe is the category in a few plain words, for a report's "why".
func (c Category) Describe() string {
	switch c {
	case Blocklist:
		return "the sending server's IP is on a blocklist"
	case Reputation:
		return "the sending server's IP has a poor reputation"
	case SpamContent:
		return "the message itself was scored as spam"
	case Authentication:
		return "SPF, DKIM or DMARC did not pass"
	case UnknownRecipient:
		return "the address does not exist (or is misspelt)"
	case MailboxFull:
		return "the recipient's mailbox is full"
	case RateLimited:
		return "too much mail at once: the remote is slowing us down"
	case Greylisted:
		return "greylisted: the remote asks to try again later"
	case TooBig:
		return "the message is too big"
	case RelayDenied:
		return "the remote does not relay for this sender or domain"
	case TLSRequired:
		return "the remote requires an encrypted connection (TLS)"
	}
	return "not recognised"
}
