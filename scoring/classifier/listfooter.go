package classifier

import (
	"strings"

	"relayguard/rules/message"
)

// maxFooterBytes bounds what is taken for a list footer: the footers
// mailing-list managers append are a few lines; a longer tail after a
// separator is the message itself.
const maxFooterBytes = 1200

// A mailing list appends the same footer to every post ("You received this
// message because you are subscribed to the Google Groups...", Mailman's
// "... mailing list / listinfo"), so a classifier trained on a site's list
// mail learns the footer, a list's name and address, as the mark of ham,
// instead of what ham says; spam posted to that list would then pass, and
// ham from anywhere else gains nothing. Mail that carries the list headers
// (RFC 2369, RFC 2919), which lists add and senders do not, has its footer
// left out of the tokens.
func isListMail(m *message.Message) bool {
	for _, h := range []string{"List-Id", "List-Unsubscribe", "List-Post"} {
		if m.Header.Get(h) != "" {
			return true
		}
	}
	return false
}

// cutListFooter splits text before its last separator line ("-- ", or a
// rule of underscores, dashes or equals signs) when what follows is short
// and reads as a list footer; otherwise it returns text whole.
func cutListFooter(text string) (body, footer string) {
	tail := text
	if len(tail) > maxFooterBytes {
		tail = tail[len(tail)-maxFooterBytes:]
	}
	start := len(text) - len(tail)
	for i := len(tail); i > 0; {
		nl := strings.LastIndexByte(tail[:i], '\n')
		line := tail[nl+1 : i]
		if isSeparator(line) {
			f := strings.TrimPrefix(text[start+i:], "\n")
			if readsAsListFooter(f) {
				return text[:start+nl+1], f
			}
			return text, ""
		}
		if nl < 0 {
			break
		}
		i = nl
	}
	return text, ""
}

func isSeparator(line string) bool {
	line = strings.TrimRight(line, "\r")
	if line == "-- " || line == "--" {
		return true
	}
	t := strings.TrimSpace(line)
	if len(t) < 8 {
		return false
	}
	c := t[0]
	if c != '_' && c != '-' && c != '=' {
		return false
	}
	return strings.Trim(t, string(c)) == ""
}

func readsAsListFooter(f string) bool {
	l := strings.ToLower(f)
	return strings.Contains(l, "unsubscribe") || strings.Contains(l, "mailing list") || strings.Contains(l, "listinfo")
}

// withoutSubjectTags drops the bracketed tags a list puts in the Subject
// ("[ILUG]", "[Example-dev]"): the list's name again. A tag the author
// wrote ("[PATCH v2]") goes with them; the body says as much.
func withoutSubjectTags(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			break
		}
		b.WriteString(s[:i])
		b.WriteByte(' ')
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}
