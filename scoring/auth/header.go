package auth

import (
	"strings"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/authres"
)

// HeaderName is the field FormatHeader's value goes in.
const HeaderName = "Authentication-Results"

// FormatHeader is the value of the Authentication-Results field we add
// (RFC 8601 §2.2), one "method=result property=value" entry per result in
// the order given:
//
//	mx.example.net; spf=pass smtp.mailfrom=alice@example.com;
//	 dkim=pass header.d=example.com header.i=@example.com;
//	 dmarc=pass header.from=example.com
//
// With no results it is "mx.example.net; none". The value is one line;
// go-message's textproto folds it at spaces when the header is written.
// Characters that may not appear in a header (controls, CR, LF) and
// non-ASCII are dropped. Entries come from authres.Format, without the
// trailing space it leaves after an entry with no properties.
func FormatHeader(authservID string, results []authres.Result) string {
	id := headerSafe(authservID)
	if id == "" || strings.ContainsAny(id, " ()<>@,;:\\\"/[]?=") {
		id = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(id) + `"`
	}
	if len(results) == 0 {
		return id + "; none"
	}
	var b strings.Builder
	b.WriteString(id)
	for _, r := range results {
		if r == nil {
			continue
		}
		// Format with a placeholder id gives "x; method=value props ".
		entry := strings.TrimPrefix(authres.Format("x", []authres.Result{r}), "x")
		b.WriteString(strings.TrimRight(headerSafe(entry), " "))
	}
	return b.String()
}

// StripSpoofed removes from h every Authentication-Results field that
// claims to come from authservID, and returns how many it removed. RFC 8601
// §5: a border MTA must remove such fields before adding its own, or a
// sender could forge a result we appear to vouch for.
//
// The authserv-id is read as RFC 8601 defines it: after optional
// comments and whitespace, a token or a quoted string, compared without
// regard to case or a trailing dot. So "(x) Relay.Example.NET." and
// "\"relay.example.net\"" both claim relay.example.net. A field whose id
// cannot be read is left alone: it claims no one.
func StripSpoofed(h *textproto.Header, authservID string) int {
	want := normAuthservID(authservID)
	if want == "" {
		return 0
	}
	n := 0
	for fields := h.FieldsByKey(HeaderName); fields.Next(); {
		if id, ok := parseAuthservID(fields.Value()); ok && normAuthservID(id) == want {
			fields.Del()
			n++
		}
	}
	return n
}

func normAuthservID(id string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(id), "."))
}

// maxCommentDepth bounds comment nesting in a hostile header.
const maxCommentDepth = 32

// parseAuthservID reads the authserv-id at the start of an
// Authentication-Results value: [CFWS] (token / quoted-string)
// (RFC 8601 §2.2, RFC 2045 §5.1 token, RFC 5322 §3.2.2 CFWS).
func parseAuthservID(v string) (string, bool) {
	i, ok := skipCFWS(v, 0)
	if !ok || i >= len(v) {
		return "", false
	}
	if v[i] == '"' {
		var b strings.Builder
		for i++; i < len(v); i++ {
			switch c := v[i]; c {
			case '"':
				return b.String(), b.Len() > 0
			case '\\':
				if i+1 >= len(v) {
					return "", false
				}
				i++
				b.WriteByte(v[i])
			default:
				b.WriteByte(c)
			}
		}
		return "", false // unterminated
	}
	j := i
	for j < len(v) && isTokenChar(v[j]) {
		j++
	}
	return v[i:j], j > i
}

// skipCFWS skips whitespace and (possibly nested) comments from i. It
// reports false for an unterminated or too deeply nested comment.
func skipCFWS(v string, i int) (int, bool) {
	depth := 0
	for i < len(v) {
		c := v[i]
		switch {
		case depth > 0 && c == '\\':
			i++ // quoted-pair: skip the next character
		case c == '(':
			depth++
			if depth > maxCommentDepth {
				return i, false
			}
		case depth > 0 && c == ')':
			depth--
		case depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n':
			return i, true
		}
		i++
	}
	return i, depth == 0
}

// isTokenChar reports an RFC 2045 token character: printable ASCII but
// not space or tspecials.
func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && !strings.ContainsRune(`()<>@,;:\"/[]?=`, rune(c))
}
