package bounce

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Free-text bounces. Each MTA writes its own template around the remote's
// SMTP reply; the reply itself is the same everywhere (RFC 5321 §4.2: a
// three-digit code, "-" on every line but the last, RFC 3463 enhanced code
// after it). So the reader finds the replies first and then reads the
// template around each for the recipient, the remote host and the stage:
//
//   - Exim (src/deliver.c, the default bounce_message_text): "This message
//     was created automatically by mail delivery software." ... "The
//     following address(es) failed:", then per address "  host NAME [IP]"
//     and "  SMTP error from remote mail server after RCPT TO:<a>:" and
//     the reply. cPanel hosts run Exim with this text.
//   - Postfix (bounce_template.cf, smtp_proto.c): "This is the mail system
//     at host H." ... "<a>: host NAME[IP] said: 550 ... (in reply to RCPT
//     TO command)".
//   - Exchange / Outlook NDRs: "Delivery has failed to these recipients or
//     groups:", "Remote Server returned '550 5.7.1 ...'", "Diagnostic
//     information for administrators" (its "Generating server" is the
//     sender's side, not the remote: "Remote Server at NAME (IP)" is); Exchange
//     2003-2007: "NAME rejected your message to the following e-mail
//     addresses: ... NAME gave this error: TEXT", "#550 5.1.1 ... ##".
//   - Gmail: "Address not found" / "Message not delivered" ... "Your
//     message wasn't delivered to a@b because ..." ... "The response from
//     the remote server was: 550 5.1.1 ...".
//   - Yahoo: "Sorry, we were unable to deliver your message to the
//     following address. <a>: Remote host said: 554 ... [RCPT_TO]".

var (
	// replyRe finds an SMTP reply: a code 2xx-5xx at a line start or after
	// the punctuation templates put before it ("said: ", "returned '",
	// "#550"), then a space or "-", then maybe an enhanced code.
	replyRe    = regexp.MustCompile(`(?m)(?:^|[\s:;'"(\[#])([245][0-9][0-9])([ -])(?:([245]\.[0-9]{1,3}\.[0-9]{1,3})\b)?`)
	enhancedRe = regexp.MustCompile(`\b[245]\.[0-9]{1,3}\.[0-9]{1,3}\b`)
	addrRe     = `<?([^\s<>()"'\[\],;:]+@[A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9])>?`
	// Recipient markers, the last before a reply wins.
	rcptRes = []*regexp.Regexp{
		regexp.MustCompile(`(?im)^\s*` + addrRe + `\s*(?:\(.*\))?\s*$`), // Exim, Exchange: the address alone
		regexp.MustCompile(`(?im)^\s*` + addrRe + `:\s`),                // Postfix, Yahoo: "<a>: host ..."
		regexp.MustCompile(`(?i)RCPT TO:\s*` + addrRe),
		regexp.MustCompile(`(?im)^\s*` + addrRe + `\s+on\s+[0-9]`),                                           // Exchange 2007: "a@b on 27/11/2026 10:00"                                                       // Exim's stage line
		regexp.MustCompile(`(?i)(?:delivered to|delivery to(?: the following recipient)?)\s*:?\s*` + addrRe), // Gmail
		regexp.MustCompile(`(?i)(?:Your message to|Original-Recipient:|Final-Recipient:\s*rfc822;)\s*` + addrRe),
	}
	hostRes = []*regexp.Regexp{
		regexp.MustCompile(`(?i)\bhost\s+([A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z]{2,})\s*\[([0-9A-Fa-f.:]*)\]`), // Exim "host N [IP]", Postfix "host N[IP]"
		regexp.MustCompile(`<([A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z]{2,}) #[245]\.[0-9]`),                      // Exchange 2007: "<mx.example #5.1.1 smtp;550 ...>"
		regexp.MustCompile(`(?i)Remote Server at\s+([A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z]{2,})\s*\(([0-9A-Fa-f.:]*)\)`),
		regexp.MustCompile(`(?i)([A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z]{2,}) (?:rejected your message|gave this error)`),
		regexp.MustCompile(`(?i)Remote-MTA:\s*dns;\s*([A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z]{2,})`),
	}
	stageRes = []struct {
		re    *regexp.Regexp
		stage string
	}{
		{regexp.MustCompile(`(?i)(?:after|in\s+reply\s+to)\s+(?:the\s+)?end\s+of\s+data`), "end of data"},
		{regexp.MustCompile(`(?i)(?:after|in\s+reply\s+to)\s+(?:the\s+)?rcpt\s+to|\[RCPT_TO\]`), "RCPT TO"},
		{regexp.MustCompile(`(?i)(?:after|in\s+reply\s+to)\s+(?:the\s+)?mail\s+from`), "MAIL FROM"},
		{regexp.MustCompile(`(?i)(?:after|in\s+reply\s+to)\s+(?:the\s+)?data\b`), "DATA"},
		{regexp.MustCompile(`(?i)(?:after|in\s+reply\s+to)\s+(?:the\s+)?(?:ehlo|helo)`), "EHLO"},
		{regexp.MustCompile(`(?i)after\s+(?:the\s+)?initial\s+connection|in\s+reply\s+to\s+the\s+banner`), "connect"},
	}
	inReplyToRe = regexp.MustCompile(`^\s*\(in\s+reply\s+to\b`)
	// A reply's text runs to the next reply or to one of these.
	replyEndRe = regexp.MustCompile(`(?im)\(in\s+reply\s+to|' *$|'\s*\n|##|^\s*-{3,}|^\s*={3,}|this is a copy of the message|original message|diagnostic information for administrators|a problem occurred during the delivery|^\s*(?:reporting-mta|final-recipient|action|status|remote-mta|return-path|received|content-type):|^\s*host \S+ ?\[|^\s*` + addrRe + `\s*(?:\(.*\))?\s*$`)
	// The copy of the returned message: nothing after it is the bounce.
	copyRe = regexp.MustCompile(`(?im)^\s*-+ ?This is a copy of the message|^\s*-+ ?Original message|^Original message headers:|^\s*-+ ?The header of the original message|^Content-Type: (?:message/rfc822|text/rfc822-headers)`)
	// Bounce templates with no SMTP reply in them (the reason is prose,
	// or the paste stops before it).
	noReplyReasonRe = regexp.MustCompile(`(?is)gave this error:\s*(.+?)(?:\n\s*\n\s*a problem occurred|\z)`)
	formats         = []struct {
		name string
		re   *regexp.Regexp
	}{
		{"Exchange", regexp.MustCompile(`(?i)delivery has failed to these recipients|remote server returned '|diagnostic information for administrators|rejected your message to the following e-mail addresses|gave this error:|your message did not reach some or all of the intended recipients`)},
		{"Gmail", regexp.MustCompile(`(?i)the response from the remote server was|address not found\b|message not delivered|google tried to deliver your message|wasn't delivered to`)},
		{"Yahoo", regexp.MustCompile(`(?i)sorry, we were unable to deliver your message|remote host said:`)},
		{"Postfix", regexp.MustCompile(`(?i)this is the mail system at host|\(in reply to [a-z ]+ command\)|i'm sorry to have to inform you that your message could not`)},
		{"Exim", regexp.MustCompile(`(?i)created automatically by mail delivery software|smtp error from remote mail server|following address\(es\) failed|could not be delivered to one or more of its\s+recipients`)},
	}
)

// reply is one SMTP reply found in a text.
type reply struct {
	code       int
	enhanced   string
	text       string
	start, end int // where it stands in the text
}

// parseReply reads s as one SMTP reply (possibly multi-line).
func parseReply(s string) (reply, bool) {
	rs := findReplies(s)
	if len(rs) == 0 || strings.TrimSpace(s[:rs[0].start]) != "" {
		return reply{}, false
	}
	return rs[0], true
}

// findReplies returns the SMTP replies in text, the lines of a multi-line
// reply joined into one.
func findReplies(text string) []reply {
	ms := replyRe.FindAllStringSubmatchIndex(text, 2000)
	var out []reply
	for i := 0; i < len(ms); i++ {
		m := ms[i]
		code, _ := strconv.Atoi(text[m[2]:m[3]])
		r := reply{code: code, start: m[2]}
		if m[6] >= 0 {
			r.enhanced = text[m[6]:m[7]]
		}
		var parts []string
		for {
			bodyStart := m[1]
			limit := len(text)
			if i+1 < len(ms) {
				limit = ms[i+1][0]
			}
			body := text[bodyStart:limit]
			if loc := replyEndRe.FindStringIndex(body); loc != nil {
				body = body[:loc[0]]
			}
			if len(body) > 2000 {
				body = body[:2000]
			}
			parts = append(parts, body)
			r.end = bodyStart + len(body)
			// "550-5.7.1 text" continues on the next line with the same code.
			if text[m[4]:m[5]] != "-" || i+1 >= len(ms) || text[ms[i+1][2]:ms[i+1][3]] != text[m[2]:m[3]] ||
				strings.TrimSpace(text[r.end:ms[i+1][0]]) != "" {
				break
			}
			i++
			m = ms[i]
		}
		r.text = cleanText(strings.Join(parts, " "))
		out = append(out, r)
	}
	return out
}

// cleanText folds white space and drops the wrapping templates leave.
func cleanText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimSuffix(s, " - gsmtp")
	s = strings.Trim(s, " '\"")
	return s
}

// readText explains a free-text bounce.
func readText(text string) (string, []Failure) {
	if loc := copyRe.FindStringIndex(text); loc != nil {
		text = text[:loc[0]]
	}
	format := ""
	for _, f := range formats {
		if f.re.MatchString(text) {
			format = f.name
			break
		}
	}
	replies := findReplies(text)
	// A code with nothing said and no enhanced code is more likely a
	// number in prose than a reply ("421 messages").
	kept := replies[:0]
	for _, r := range replies {
		if r.enhanced != "" || len(r.text) >= 3 {
			kept = append(kept, r)
		}
	}
	replies = kept
	// Work per reply is bounded too: a bounce names at most maxFailures
	// recipients, and a few repeats of each (Exchange, Gmail) are enough
	// to find them, so a page of pasted replies costs no more than that.
	if len(replies) > 4*maxFailures {
		replies = replies[:4*maxFailures]
	}
	if len(replies) == 0 {
		if format == "" {
			return "", nil
		}
		f := Failure{Recipient: lastMatch(rcptRes, text)}
		f.RemoteHost, f.RemoteIP = lastHost(text)
		f.Stage = lastStage(text)
		if m := noReplyReasonRe.FindStringSubmatch(text); m != nil {
			f.Text = cleanText(m[1])
		}
		return format, []Failure{f}
	}
	if format == "" {
		// No bounce template around them: a line starting "550 " may be
		// prose ("550 dollars, as agreed"). A pasted reply carries an
		// enhanced code or says something a category knows.
		kept := replies[:0]
		for _, r := range replies {
			f := Failure{Code: r.code, Text: r.text}
			classify(&f)
			if r.enhanced != "" || f.Category != Unknown {
				kept = append(kept, r)
			}
		}
		if replies = kept; len(replies) == 0 {
			return "", nil
		}
		format = "SMTP reply"
	}
	var out []Failure
	prevEnd := 0
	for i, r := range replies {
		before := text[prevEnd:r.start]
		nextStart := len(text)
		if i+1 < len(replies) {
			nextStart = replies[i+1].start
		}
		// Postfix says the stage right after the reply, "(in reply to
		// RCPT TO command)"; anything later is the next recipient's.
		after := text[r.end:min(nextStart, r.end+200)]
		if !inReplyToRe.MatchString(after) {
			after = ""
		}
		f := Failure{Code: r.code, Enhanced: r.enhanced, Text: r.text}
		f.Recipient = lastMatch(rcptRes, before)
		f.RemoteHost, f.RemoteIP = lastHost(before)
		if f.Stage = firstStage(after); f.Stage == "" {
			f.Stage = lastStage(before)
		}
		if f.Stage == "" {
			f.Stage = firstStage(r.text) // Yahoo's "[RCPT_TO]"
		}
		out = append(out, f)
		prevEnd = r.end
	}
	// Exchange and Gmail put the recipient or the generating server away
	// from the reply: a field missing beside every reply comes from the
	// whole bounce.
	// (Worked out once: a reply per line must not mean a scan per line.)
	var rcpt, host, ip string
	var looked bool
	for i := range out {
		if out[i].Recipient != "" && out[i].RemoteHost != "" {
			continue
		}
		if !looked {
			rcpt = lastMatch(rcptRes, text)
			host, ip = lastHost(text)
			looked = true
		}
		if out[i].Recipient == "" {
			out[i].Recipient = rcpt
		}
		if out[i].RemoteHost == "" {
			out[i].RemoteHost, out[i].RemoteIP = host, ip
		}
	}
	return format, dedupe(out)
}

// dedupe drops repeats: Exchange prints the reply in the summary and again
// for administrators; Gmail may quote it twice.
func dedupe(fs []Failure) []Failure {
	seen := map[string]int{}
	var out []Failure
	for _, f := range fs {
		key := f.Recipient + "\x00" + strconv.Itoa(f.Code) + f.Enhanced + "\x00" + f.Text
		if j, ok := seen[key]; ok {
			if out[j].Stage == "" {
				out[j].Stage = f.Stage
			}
			continue
		}
		seen[key] = len(out)
		out = append(out, f)
	}
	return out
}

func lastMatch(res []*regexp.Regexp, s string) string {
	best, at := "", -1
	for _, re := range res {
		ms := re.FindAllStringSubmatchIndex(s, -1)
		if len(ms) == 0 {
			continue
		}
		m := ms[len(ms)-1]
		if m[0] > at {
			best, at = s[m[2]:m[3]], m[0]
		}
	}
	return strings.Trim(best, "<>.")
}

// lastHost is the last remote host (and IP) named in s.
func lastHost(s string) (host, ip string) {
	at := -1
	for _, re := range hostRes {
		ms := re.FindAllStringSubmatchIndex(s, -1)
		if len(ms) == 0 {
			continue
		}
		m := ms[len(ms)-1]
		if m[0] <= at {
			continue
		}
		at, host, ip = m[0], s[m[2]:m[3]], ""
		if len(m) > 4 && m[4] >= 0 {
			if a, err := netip.ParseAddr(s[m[4]:m[5]]); err == nil {
				ip = a.String()
			}
		}
	}
	return strings.ToLower(strings.TrimSuffix(host, ".")), ip
}

// splitHostIP splits "mx.example [192.0.2.1]" or "mx.example (192.0.2.1)".
func splitHostIP(s string) (host, ip string) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "[("); i >= 0 {
		inner := strings.Trim(s[i:], "[]() ")
		if a, err := netip.ParseAddr(inner); err == nil {
			ip = a.String()
		}
		s = strings.TrimSpace(s[:i])
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return "", a.String()
	}
	return strings.ToLower(strings.TrimSuffix(s, ".")), ip
}

func firstStage(s string) string {
	best, at := "", len(s)+1
	for _, st := range stageRes {
		if loc := st.re.FindStringIndex(s); loc != nil && loc[0] < at {
			best, at = st.stage, loc[0]
		}
	}
	return best
}

func lastStage(s string) string {
	best, at := "", -1
	for _, st := range stageRes {
		ms := st.re.FindAllStringIndex(s, -1)
		if len(ms) > 0 && ms[len(ms)-1][0] > at {
			best, at = st.stage, ms[len(ms)-1][0]
		}
	}
	return best
}
