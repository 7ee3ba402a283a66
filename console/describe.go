package console

import "strings"

// senderSymbols describe the sender checks' symbols in plain words; the
// symbol's detail says what was found (the list's answer, the domain).
// Content rules carry their own descriptions in their rule files.
var senderSymbols = map[string]string{
	"GTUBE":               "the message carries the GTUBE test string, which every spam filter must reject",
	"ALLOW_IP":            "the client is on the operator's allow list (lists.allow_ips)",
	"ALLOW_RCPT":          "a recipient is on the operator's allow list (lists.allow_recipients)",
	"ALLOW_SENDER":        "the sender is on the operator's allow list, and SPF or DKIM proved it",
	"ALLOW_SENDER_UNAUTH": "the sender is on the allow list, but nothing proved the sender: worth nothing",
	"BLOCK_IP":            "the client is on the operator's block list (lists.block_ips)",
	"BLOCK_RCPT":          "a recipient is on the operator's block list (lists.block_recipients)",
	"BLOCK_SENDER":        "the sender is on the operator's block list (lists.block_senders)",
	"BAYES_UNAVAILABLE":   "the classifier abstained (the state store failed)",
	"RDNS_NONE":           "the client's IP has no reverse DNS name",
	"RDNS_MISMATCH":       "the client's reverse DNS name does not resolve back to its IP",
	"HELO_BARE_IP":        "the client greeted (HELO) with a bare IP address",
	"HELO_NOT_FQDN":       "the client's HELO name is not a fully qualified domain name",
	"HELO_NO_RESOLVE":     "the client's HELO name does not resolve",
	"HELO_OURS":           "the client greeted with our own name or address: a forgery",
	"DMARC_BAD_FROM":      "the From header's address cannot be read",
	"DMARC_MULTI_FROM":    "the From header names several addresses",
	"DMARC_NO_FROM":       "the message has no From header",
	"DMARC_NA":            "the From domain publishes no DMARC policy",
}

// families describe symbols by prefix: the blocklists' names depend on the
// configured zones, and SPF/DKIM/DMARC results share a shape.
var families = []struct{ prefix, words string }{
	{"FORWARD_", "found on mail we forward off-site, judged more strictly: "},
	{"RCVD_", "found on the original client behind a trusted relay: "},
	{"DNSBL_", "the client's IP is listed on a DNS blocklist (the detail has the list's answer)"},
	{"DNSWL_", "the client's IP is on a DNS allow list (the detail has the list's answer)"},
	{"URIBL_IP_", "a link's host resolves to an IP listed on a blocklist"},
	{"URIBL_", "a domain in the message's links is listed on a URI blocklist"},
	{"BAYES_", "the classifier's spam probability band (the number is the percentage)"},
	{"SPF_HELO_", "the SPF result for the HELO name: "},
	{"SPF_", "the SPF result for the envelope sender's domain: "},
	{"DKIM_", "the DKIM signatures' result: "},
	{"DMARC_", "the DMARC result for the From domain: "},
}

var results = map[string]string{
	"PASS": "pass", "FAIL": "fail (the domain says this client may not send for it)", "SOFTFAIL": "softfail (probably not allowed)",
	"NEUTRAL": "neutral", "NONE": "none (no record published, or no signature)", "PERMERROR": "permanent error in the domain's record",
	"TEMPERROR": "temporary DNS error", "VALID": "a valid signature", "INVALID": "a signature that does not verify",
	"REJECT": "fail, and the domain asks receivers to reject", "QUARANTINE": "fail, and the domain asks receivers to treat it as spam",
	"NA": "no policy",
}

// DescribeSenderSymbol is the plain-words meaning of a sender check's
// symbol ("" when unknown).
func DescribeSenderSymbol(name string) string {
	if d, ok := senderSymbols[name]; ok {
		return d
	}
	for _, f := range families {
		rest, ok := strings.CutPrefix(name, f.prefix)
		if !ok {
			continue
		}
		if strings.HasSuffix(f.words, ": ") {
			if d := DescribeSenderSymbol(rest); d != "" {
				return f.words + d
			}
			if r, ok := results[rest]; ok && r != "" {
				return f.words + r
			}
			continue
		}
		return f.words
	}
	return ""
}
