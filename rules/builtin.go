package rules

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"

	"golang.org/x/net/publicsuffix"

	"relayguard/internal/mailaddr"
)

// Built-in heuristics: findings that need code rather than a pattern
// (counting, comparing two headers, reading the MIME tree). Each is a rule
// of kind "builtin" in the rule file, so its score, description and
// threshold (min) are tuned there like any other rule.

type builtin struct {
	fn           func(e *evalCtx, r *rule) (match string, ok bool)
	takesMin     bool
	defMin       float64
	takesDomains bool
	doc          string // what min means, for the default file and docs
}

var builtins map[string]builtin

func init() {
	builtins = map[string]builtin{
		// Links.
		"URI_MANY":          {fn: uriMany, takesMin: true, defMin: 30, doc: "min: number of distinct links"},
		"URI_DOMAINS_MANY":  {fn: uriDomainsMany, takesMin: true, defMin: 10, doc: "min: number of distinct registered domains"},
		"URI_TEXT_MISMATCH": {fn: uriTextMismatch},
		"URI_IP_LITERAL":    {fn: uriIPLiteral},
		"URI_USERINFO":      {fn: uriUserinfo},
		// HTML and MIME.
		"HTML_ONLY":                {fn: htmlOnly},
		"MIME_ALT_DIFFERENT":       {fn: altDifferent, takesMin: true, defMin: 0.3, doc: "min: share of the HTML part's words also in the text part, below which they differ"},
		"HTML_IMAGE_NO_TEXT":       {fn: imageNoText, takesMin: true, defMin: 40, doc: "min: visible words below which the message is mostly image"},
		"HTML_HIDDEN_TEXT":         {fn: hiddenText, takesMin: true, defMin: 40, doc: "min: hidden characters"},
		"MIME_MALFORMED":           {fn: mimeMalformed},
		"MIME_BASE64_TEXT":         {fn: base64Text},
		"HTML_COMMENT_SPLITS_WORD": {fn: commentSplits},
		"HTML_FORM":                {fn: htmlCount(func(c *content) int { return c.forms }, "forms")},
		"HTML_SCRIPT":              {fn: htmlCount(func(c *content) int { return c.scripts }, "scripts")},
		"HTML_BIG_FONT":            {fn: htmlCount(func(c *content) int { return c.bigFonts }, "huge fonts")},
		"HTML_ENTITY_RUNS":         {fn: htmlCount(func(c *content) int { return c.entityRuns }, "runs")},
		"MAILTO_REMOVE":            {fn: mailtoRemove},
		// Wording.
		"BODY_CAPS_MANY":  {fn: bodyCaps, takesMin: true, defMin: 50, doc: "min: percent of letters in capitals (over at least 200 letters)"},
		"BODY_CAPS_LINES": {fn: capsLines, takesMin: true, defMin: 3, doc: "min: consecutive lines in capitals"},
		"BODY_BLANK_GAP":  {fn: blankGap, takesMin: true, defMin: 10, doc: "min: consecutive blank lines"},
		"BODY_SPACED_OUT": {fn: spacedOut, takesMin: true, defMin: 6, doc: "min: letters written apart"},
		// Headers.
		"DATE_MISSING":         {fn: dateMissing},
		"DATE_INVALID":         {fn: dateInvalid},
		"DATE_IN_FUTURE":       {fn: dateFuture, takesMin: true, defMin: 12, doc: "min: hours ahead of arrival"},
		"DATE_IN_PAST":         {fn: datePast, takesMin: true, defMin: 96, doc: "min: hours before arrival"},
		"MSGID_MISSING":        {fn: msgidMissing},
		"FROM_NAME_OTHER_ADDR": {fn: fromNameOtherAddr},
		"REPLYTO_FREEMAIL":     {fn: replyToFreemail, takesDomains: true},
		"SUBJ_EMPTY":           {fn: subjEmpty},
		"SUBJ_ALL_CAPS":        {fn: subjAllCaps, takesMin: true, defMin: 10, doc: "min: letters in the subject"},
		"RCPTS_MANY":           {fn: rcptsMany, takesMin: true, defMin: 15, doc: "min: addresses in To and Cc"},
		"TO_UNDISCLOSED":       {fn: toUndisclosed},
		"SUBJ_REPLY_NO_THREAD": {fn: fakeReply},
		"SUBJ_GREETS_RCPT":     {fn: subjGreetsRcpt},
	}
}

// registeredDomain is the name an owner registered: example.co.uk for
// www.mail.example.co.uk. IP literals and unknown suffixes are returned as
// they are.
func registeredDomain(host string) string {
	if host == "" || IsIPHost(host) {
		return host
	}
	if d, ok := mailaddr.Registrable(host); ok {
		return d
	}
	return host
}

// hasPublicSuffix tells whether host ends in a suffix the public suffix
// list knows (so "www.bank.com" in link text is a domain, "Mr.Smith" not).
func hasPublicSuffix(host string) bool {
	suf, icann := publicsuffix.PublicSuffix(host)
	return icann && suf != host && strings.Contains(host, ".")
}

func uriMany(e *evalCtx, r *rule) (string, bool) {
	n := 0
	for _, l := range e.m.Links() {
		if l.Source != "src" {
			n++
		}
	}
	if float64(n) >= r.min {
		return fmt.Sprintf("%d links", n), true
	}
	return "", false
}

func uriDomainsMany(e *evalCtx, r *rule) (string, bool) {
	seen := map[string]bool{}
	var list []string
	for _, l := range e.m.Links() {
		d := registeredDomain(l.Host)
		if d != "" && !seen[d] {
			seen[d] = true
			list = append(list, d)
		}
	}
	if float64(len(list)) >= r.min {
		if len(list) > 4 {
			list = append(list[:4], "...")
		}
		return fmt.Sprintf("%d domains: %s", len(seen), strings.Join(list, ", ")), true
	}
	return "", false
}

// uriTextMismatch finds a link whose shown text is a web address on one
// domain while the link goes to another: the classic phishing link.
func uriTextMismatch(e *evalCtx, r *rule) (string, bool) {
	for _, l := range e.m.Links() {
		if l.Source != "href" || l.Text == "" || l.Host == "" {
			continue
		}
		shown := shownHost(l.Text)
		if shown == "" {
			continue
		}
		if registeredDomain(shown) != registeredDomain(l.Host) {
			return fmt.Sprintf("shows %s, goes to %s", shown, l.Host), true
		}
	}
	return "", false
}

// shownHost returns the host named by link text that is itself a web
// address ("www.bank.example", "https://bank.example/login"); "" when the
// text is ordinary words.
func shownHost(text string) string {
	t := strings.TrimSpace(text)
	if strings.ContainsAny(t, " \t\n") || len(t) < 4 {
		return ""
	}
	lower := strings.ToLower(t)
	var raw string
	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		raw = t
	case strings.HasPrefix(lower, "www."):
		raw = "http://" + t
	default:
		// a bare domain: bank.example or bank.example/path
		if strings.Contains(t, "@") {
			return ""
		}
		raw = "http://" + t
	}
	l, ok := normaliseURL(raw)
	if !ok || IsIPHost(l.Host) && !strings.Contains(lower, "://") {
		return ""
	}
	if !IsIPHost(l.Host) && !hasPublicSuffix(l.Host) {
		return ""
	}
	return l.Host
}

func uriIPLiteral(e *evalCtx, r *rule) (string, bool) {
	for _, l := range e.m.Links() {
		if IsIPHost(l.Host) {
			return l.URL, true
		}
	}
	return "", false
}

// uriUserinfo finds http://trusted.example@evil.example/: the part before
// @ is shown to the reader, the host after it is where the link goes.
func uriUserinfo(e *evalCtx, r *rule) (string, bool) {
	for _, l := range e.m.Links() {
		if !l.UserInfo {
			continue
		}
		i := strings.Index(l.URL, "://")
		if i < 0 {
			continue
		}
		auth := l.URL[i+3:]
		if j := strings.IndexAny(auth, "/?#"); j >= 0 {
			auth = auth[:j]
		}
		user := auth[:strings.LastIndexByte(auth, '@')]
		if strings.Contains(user, ".") {
			return l.URL, true
		}
	}
	return "", false
}

func htmlOnly(e *evalCtx, r *rule) (string, bool) {
	c := e.m.content()
	return "", c.hasHTML && !c.hasPlain
}

// altDifferent compares the two versions of a multipart/alternative: real
// mail programs write the same words twice; spam often puts a decoy in the
// text part ("your mail reader cannot show this message") or unrelated text.
func altDifferent(e *evalCtx, r *rule) (string, bool) {
	for _, a := range e.m.content().alts {
		pw := wordSet(a.plain)
		hw := wordSet(a.html)
		if len(hw) < 10 {
			continue
		}
		common := 0
		for w := range hw {
			if pw[w] {
				common++
			}
		}
		share := float64(common) / float64(len(hw))
		if share < r.min {
			return fmt.Sprintf("%.0f%% of the HTML words are in the text part", share*100), true
		}
	}
	return "", false
}

// wordSet is the set of words of three letters or more, lower case.
func wordSet(s string) map[string]bool {
	set := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) }) {
		if len([]rune(w)) >= 3 {
			set[w] = true
		}
	}
	return set
}

// imageNoText fires on HTML that is mostly picture: few visible words and
// at least one image that is more than a spacer or tracking pixel.
func imageNoText(e *evalCtx, r *rule) (string, bool) {
	c := e.m.content()
	if !c.hasHTML {
		return "", false
	}
	big := 0
	for _, im := range c.images {
		switch {
		case im.Source == "part" && im.Bytes >= 4096:
			big++
		case im.Source == "img" && (im.Width == 0 || im.Height == 0 || im.Width*im.Height >= 100*100):
			big++
		}
	}
	if big == 0 {
		return "", false
	}
	words := len(strings.Fields(c.visible))
	if float64(words) < r.min {
		return fmt.Sprintf("%d words, %d images", words, big), true
	}
	return "", false
}

func hiddenText(e *evalCtx, r *rule) (string, bool) {
	h := e.m.HiddenText()
	n := 0
	for _, c := range h {
		if !unicode.IsSpace(c) {
			n++
		}
	}
	if float64(n) >= r.min {
		return h, true
	}
	return "", false
}

func mimeMalformed(e *evalCtx, r *rule) (string, bool) {
	if f := e.m.MIMEFindings(); len(f) > 0 {
		return f[0], true
	}
	return "", false
}

// bodyCaps measures shouting: the share of capital letters among the
// cased letters of the visible text.
func bodyCaps(e *evalCtx, r *rule) (string, bool) {
	text := e.m.VisibleText()
	upper, cased := 0, 0
	for _, c := range text {
		switch {
		case unicode.IsUpper(c):
			upper++
			cased++
		case unicode.IsLower(c):
			cased++
		}
	}
	if cased < 200 {
		return "", false
	}
	pct := float64(upper) * 100 / float64(cased)
	if pct >= r.min {
		return fmt.Sprintf("%.0f%% capitals", pct), true
	}
	return "", false
}

func dateMissing(e *evalCtx, r *rule) (string, bool) {
	return "", !e.m.Header.Has("Date")
}

func dateInvalid(e *evalCtx, r *rule) (string, bool) {
	v := e.m.Header.Get("Date")
	if v == "" {
		return "", false
	}
	_, ok := parseDate(v)
	return v, !ok
}

func dateOffset(e *evalCtx) (time.Duration, string, bool) {
	v := e.m.Header.Get("Date")
	t, ok := parseDate(v)
	if !ok {
		return 0, "", false
	}
	return t.Sub(e.refTime()), v, true
}

func dateFuture(e *evalCtx, r *rule) (string, bool) {
	d, v, ok := dateOffset(e)
	if ok && d >= time.Duration(r.min*float64(time.Hour)) {
		return fmt.Sprintf("%s (%s ahead)", v, roundHours(d)), true
	}
	return "", false
}

func datePast(e *evalCtx, r *rule) (string, bool) {
	d, v, ok := dateOffset(e)
	if ok && -d >= time.Duration(r.min*float64(time.Hour)) {
		return fmt.Sprintf("%s (%s before arrival)", v, roundHours(-d)), true
	}
	return "", false
}

func roundHours(d time.Duration) string {
	h := d.Hours()
	if h >= 48 {
		return fmt.Sprintf("%.0f days", h/24)
	}
	return fmt.Sprintf("%.0f hours", h)
}

func msgidMissing(e *evalCtx, r *rule) (string, bool) {
	return "", strings.TrimSpace(e.m.Header.Get("Message-ID")) == ""
}

// fromNameOtherAddr finds From: "support@bank.example" <x@evil.example>:
// the reader sees an address that is not the sender's.
func fromNameOtherAddr(e *evalCtx, r *rule) (string, bool) {
	from, ok := e.m.firstAddress("From")
	if !ok || from.Name == "" {
		return "", false
	}
	shown := findEmail(from.Name)
	if shown == "" {
		return "", false
	}
	shown = strings.ToLower(shown)
	if shown == from.Addr || registeredDomain(mailaddr.Domain(shown)) == registeredDomain(from.Domain()) {
		return "", false
	}
	return fmt.Sprintf("shows %s, is %s", shown, from.Addr), true
}

// replyToFreemail: answers go to a free-mail box while the message claims
// to come from somewhere else, a mark of advance-fee and phishing mail.
func replyToFreemail(e *evalCtx, r *rule) (string, bool) {
	rt, ok := e.m.firstAddress("Reply-To")
	if !ok {
		return "", false
	}
	from, _ := e.m.firstAddress("From")
	rd := rt.Domain()
	if !r.domains[rd] && !r.domains[registeredDomain(rd)] {
		return "", false
	}
	if registeredDomain(rd) == registeredDomain(from.Domain()) {
		return "", false
	}
	return rt.Addr, true
}

func subjEmpty(e *evalCtx, r *rule) (string, bool) {
	return "", strings.TrimSpace(e.m.HeaderText("Subject")) == ""
}

func subjAllCaps(e *evalCtx, r *rule) (string, bool) {
	s := e.m.HeaderText("Subject")
	letters := 0
	for _, c := range s {
		if unicode.IsLower(c) {
			return "", false
		}
		if unicode.IsUpper(c) {
			letters++
		}
	}
	if float64(letters) >= r.min {
		return s, true
	}
	return "", false
}

func rcptsMany(e *evalCtx, r *rule) (string, bool) {
	n := len(e.m.headerAddresses("To")) + len(e.m.headerAddresses("Cc"))
	if float64(n) >= r.min {
		return fmt.Sprintf("%d recipients in To and Cc", n), true
	}
	return "", false
}

// toUndisclosed: no To at all, or an empty group (undisclosed-recipients:;),
// the mark of mail sent to a list of Bcc addresses.
func toUndisclosed(e *evalCtx, r *rule) (string, bool) {
	v := strings.TrimSpace(e.m.Header.Get("To"))
	if v == "" {
		return "no To", true
	}
	if strings.HasSuffix(v, ":;") || strings.HasSuffix(v, ": ;") {
		return v, true
	}
	return "", false
}

// fakeReply: "Re:" in the subject of a message that answers nothing, a
// trick to look like part of a conversation.
func fakeReply(e *evalCtx, r *rule) (string, bool) {
	s := strings.TrimSpace(e.m.HeaderText("Subject"))
	if len(s) < 3 || !strings.EqualFold(s[:3], "re:") {
		return "", false
	}
	if e.m.Header.Has("In-Reply-To") || e.m.Header.Has("References") {
		return "", false
	}
	return s, true
}

func base64Text(e *evalCtx, r *rule) (string, bool) {
	return "", e.m.content().base64Text
}

// subjGreetsRcpt: the subject opens with the recipient's mailbox name
// ("jsmith, your account..."), mail merged from a list of addresses.
func subjGreetsRcpt(e *evalCtx, r *rule) (string, bool) {
	to, ok := e.m.firstAddress("To")
	if !ok {
		return "", false
	}
	local, _, _ := strings.Cut(to.Addr, "@")
	if len(local) < 3 {
		return "", false
	}
	s := strings.ToLower(strings.TrimSpace(e.m.HeaderText("Subject")))
	rest, ok := strings.CutPrefix(s, local)
	if !ok || rest == "" {
		return "", false
	}
	switch rest[0] {
	case ',', ':', '!', '-', ';':
		return e.m.HeaderText("Subject"), true
	}
	return "", false
}

// capsLines finds several lines in a row written in capitals (at least
// one run of three capitals, no lower-case letter): shouted sales copy.
// A Go loop rather than a (?m) regex, which would run on every message
// for want of a literal to prefilter on.
func capsLines(e *evalCtx, r *rule) (string, bool) {
	text := e.bodyText()
	run, first := 0, ""
	for len(text) > 0 {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		if capsLine(line) {
			if run == 0 {
				first = line
			}
			run++
			if float64(run) >= r.min {
				return first, true
			}
			continue
		}
		run = 0
	}
	return "", false
}

func capsLine(line string) bool {
	caps, best := 0, 0
	for _, c := range line {
		switch {
		case unicode.IsLower(c):
			return false
		case unicode.IsUpper(c):
			caps++
			best = max(best, caps)
		default:
			caps = 0
		}
	}
	return best >= 3
}

// blankGap finds a long run of blank lines, used to push small print
// (removal notes, the real sender) below what the reader scrolls to.
func blankGap(e *evalCtx, r *rule) (string, bool) {
	text := e.bodyText()
	run := 0
	for len(text) > 0 {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			break // the last line has no end: not a blank line in a run
		}
		if strings.TrimSpace(line) == "" {
			run++
			if float64(run) >= r.min {
				return fmt.Sprintf("%d blank lines", run), true
			}
			continue
		}
		run = 0
	}
	return "", false
}

// spacedOut finds words written with their letters apart (f r e e,
// v.i.a.g.r.a): single letters each followed by one separator.
func spacedOut(e *evalCtx, r *rule) (string, bool) {
	text := e.bodyText()
	start, n := -1, 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !isLetterByte(c) {
			continue
		}
		// A single letter: a word byte on neither side.
		if i > 0 && isWordByte(text[i-1]) || i+1 < len(text) && isWordByte(text[i+1]) {
			n = 0
			continue
		}
		if n == 0 || i != start+2*n {
			start, n = i, 0
		}
		n++
		if float64(n) >= r.min && !(i+2 < len(text) && spacer[text[i+1]] && isLetterByte(text[i+2])) {
			return text[start : i+1], true
		}
		if !(i+1 < len(text) && spacer[text[i+1]]) {
			n = 0
		}
	}
	return "", false
}

// spacer marks the separators of letters written apart.
var spacer = [256]bool{' ': true, '.': true, '_': true, '*': true, '-': true}

func isLetterByte(c byte) bool {
	c |= 0x20
	return c >= 'a' && c <= 'z'
}

func commentSplits(e *evalCtx, r *rule) (string, bool) {
	n := e.m.content().commentSplits
	return fmt.Sprintf("%d words", n), n > 0
}

// htmlCount makes a built-in that fires when the HTML parse counted at
// least one of something.
func htmlCount(count func(*content) int, what string) func(*evalCtx, *rule) (string, bool) {
	return func(e *evalCtx, r *rule) (string, bool) {
		n := count(e.m.content())
		return fmt.Sprintf("%d %s", n, what), n > 0
	}
}

// mailtoRemove finds a mailto: link that asks to be taken off a list
// (?subject=remove): the opt-out address of bulk mail.
func mailtoRemove(e *evalCtx, r *rule) (string, bool) {
	for _, m := range e.m.content().mailtos {
		_, q, ok := strings.Cut(m, "?")
		if !ok {
			continue
		}
		for _, kv := range strings.Split(q, "&") {
			k, v, _ := strings.Cut(kv, "=")
			if !strings.EqualFold(k, "subject") {
				continue
			}
			if u, err := url.QueryUnescape(v); err == nil {
				v = u
			}
			v = strings.ToLower(strings.TrimSpace(v))
			for _, w := range []string{"remove", "delete", "take off", "takeoff", "stop"} {
				if strings.HasPrefix(v, w) {
					return m, true
				}
			}
		}
	}
	return "", false
}
