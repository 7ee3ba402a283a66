package classifier

import (
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"mime"
	"strings"
	"unicode/utf8"

	"relayguard/internal/mailaddr"
	"relayguard/internal/trace"
	"relayguard/rules"
	"relayguard/rules/message"
)

// Bounds on the tokens of one message. Spam says what it has to say early,
// and a bound keeps the store round trip and the combiner's work fixed
// whatever the size of the message.
const (
	// MaxTokens is the most distinct tokens taken from one message (first
	// occurrences win).
	MaxTokens    = 1000
	minWordRunes = 3
	maxWordRunes = 24
	// osbWindow is the sparse-bigram window (rspamd's OSB uses 5: each word
	// is paired with the next four, the distance part of the token).
	osbWindow = 5
)

// TokenOptions choose what the tokenizer takes.
type TokenOptions struct {
	// Bigrams adds orthogonal sparse bigrams (OSB) of the body words.
	Bigrams bool
}

// tokenizer collects a message's features, deduplicated and bounded.
type tokenizer struct {
	seen map[string]struct{}
	out  []string
}

func (t *tokenizer) add(tok string) {
	if len(t.out) >= MaxTokens || tok == "" {
		return
	}
	if _, dup := t.seen[tok]; dup {
		return
	}
	t.seen[tok] = struct{}{}
	t.out = append(t.out, tok)
}

func (t *tokenizer) full() bool { return len(t.out) >= MaxTokens }

// wordOK keeps words of 3 to 24 characters: shorter ones are mostly
// function words, longer ones encoded junk (base64 runs, hashes) that
// never recurs.
func wordOK(w string) bool {
	n := utf8.RuneCountInString(w)
	return n >= minWordRunes && n <= maxWordRunes
}

// words adds prefix+word for each usable word of s, normalised as the
// wording rules normalise it.
func (t *tokenizer) words(prefix, s string) []string {
	if s == "" {
		return nil
	}
	ws := rules.NormaliseWords(s)
	kept := ws[:0]
	for _, w := range ws {
		if wordOK(w) {
			kept = append(kept, w)
			t.add(prefix + w)
		}
	}
	return kept
}

// Features returns the message's features as readable strings (before
// hashing): for tests and for explaining. hop is the untrusted hop of
// mail handed over by a trusted relay (nil when unknown).
func Features(m *message.Message, hop *trace.Hop, o TokenOptions) []string {
	t := &tokenizer{seen: make(map[string]struct{}, 512)}
	// Headers first: they are few and telling, so the bound never cuts them.
	list := isListMail(m)
	subject := m.HeaderText("Subject")
	if list {
		subject = withoutSubjectTags(subject)
	}
	t.words("s:", subject)
	if a, ok := m.FirstAddress("From"); ok {
		t.words("fn:", a.Name)
		if d := a.Domain(); d != "" {
			t.add("fd:" + d)
		}
	}
	if a, ok := m.FirstAddress("Reply-To"); ok {
		if d := a.Domain(); d != "" {
			t.add("rd:" + d)
		}
	}
	for _, h := range []string{"X-Mailer", "User-Agent"} {
		t.words("xm:", m.HeaderText(h))
	}
	if hop != nil {
		for _, n := range []string{hop.RDNS, hop.Helo} {
			if n = strings.ToLower(strings.TrimSuffix(n, ".")); n != "" {
				t.add("rh:" + n)
				if r, ok := mailaddr.Registrable(n); ok {
					t.add("rh:" + r)
				}
			}
		}
	}
	if ct := m.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil {
			t.add("mime:" + mt)
		}
	}
	for _, p := range m.Parts() {
		t.add("mime:" + p.Type)
	}
	for _, a := range m.Attachments() {
		if ext := a.Ext(); ext != "" {
			t.add("att:" + ext)
		}
		if a.Sniffed != "" {
			t.add("att:" + a.Sniffed)
		}
	}
	text, footers := m.VisibleText(), ""
	if list {
		text, footers = withoutListFooters(m)
	}
	for _, l := range m.Links() {
		if l.Host == "" || (footers != "" && strings.Contains(footers, l.URL)) {
			continue
		}
		t.add("h:" + l.Host)
		if r, ok := mailaddr.Registrable(l.Host); ok {
			t.add("d:" + r)
		}
		if t.full() {
			break
		}
	}
	body := t.words("", text)
	if o.Bigrams {
		for i := 0; i < len(body) && !t.full(); i++ {
			for d := 1; d < osbWindow && i+d < len(body); d++ {
				t.add("b" + string(rune('0'+d)) + ":" + body[i] + " " + body[i+d])
			}
		}
	}
	return t.out
}

// withoutListFooters is the visible text with the list footer cut from its
// plain and its HTML text, and the footers cut.
func withoutListFooters(m *message.Message) (text, footers string) {
	plain, pf := cutListFooter(m.PlainText())
	html, hf := cutListFooter(m.HTMLText())
	switch {
	case plain == "":
		text = html
	case html == "":
		text = plain
	default:
		text = plain + "\n" + html
	}
	return text, pf + "\n" + hf
}

// Tokens returns the message's features hashed, so that the store never
// holds message text: 64-bit FNV-1a, base64 (11 characters).
func Tokens(m *message.Message, hop *trace.Hop, o TokenOptions) []string {
	f := Features(m, hop, o)
	for i, s := range f {
		f[i] = Hash(s)
	}
	return f
}

// Hash is a feature's stored form.
func Hash(feature string) string {
	h := fnv.New64a()
	h.Write([]byte(feature))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], h.Sum64())
	return base64.RawURLEncoding.EncodeToString(b[:])
}
