package message

import (
	"bytes"

	"golang.org/x/net/html"
)

// x/net/html (v0.62) copies every tag name and attribute key and value it
// hands out (TagName, TagAttr), to replace NUL bytes that are almost never
// there. The tags of one HTML part cost a hundred allocations that way.
// tagReader reads names and attributes out of the token's raw bytes
// instead, by the tokenizer's own rules (readTagName, readTag,
// readTagAttrKey, readTagAttrVal in x/net/html/token.go), and leaves the
// rare tag it cannot read without copying (a NUL, an entity or a CR in a
// value) to TagName and TagAttr. FuzzTagReader holds it to the tokenizer.
type tagReader struct {
	low []byte // lower-cased names and keys of the current tag
}

// maxTagAttrs is how many attributes of a tag are read (readAttrs' cap).
const maxTagAttrs = 64

// isTagSpace is the tokenizer's white space inside tags.
func isTagSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f'
}

// lower returns b in lower case (ASCII, as the tokenizer does): b itself
// when it has no upper-case letter, else a copy in t.low.
func (t *tagReader) lower(b []byte) []byte {
	i := 0
	for i < len(b) && !('A' <= b[i] && b[i] <= 'Z') {
		i++
	}
	if i == len(b) {
		return b
	}
	start := len(t.low)
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		t.low = append(t.low, c)
	}
	return t.low[start:len(t.low):len(t.low)]
}

// tag returns the current tag's lower-case name and, for a start tag, up
// to maxTagAttrs attributes in buf, as z.TagName and z.TagAttr would give
// them. The slices are valid until the next token.
func (t *tagReader) tag(z *html.Tokenizer, tt html.TokenType, buf attrList) ([]byte, attrList) {
	raw := z.Raw()
	t.low = t.low[:0]
	if cap(t.low) < len(raw) {
		// Names and keys are shorter than the tag: t.low never moves
		// while slices of it are handed out.
		t.low = make([]byte, 0, 2*len(raw))
	}
	name, attrs, ok := t.read(raw, tt, buf)
	if ok {
		return name, attrs
	}
	name, more := z.TagName()
	return name, readAttrs(z, more, buf)
}

// read parses raw; ok is false when the tag needs the tokenizer's copies.
func (t *tagReader) read(raw []byte, tt html.TokenType, buf attrList) (name []byte, attrs attrList, ok bool) {
	attrs = buf[:0]
	start := 1 // after "<"
	if tt == html.EndTagToken {
		start = 2 // after "</"
	}
	if len(raw) <= start || raw[len(raw)-1] != '>' || bytes.IndexByte(raw, 0) >= 0 {
		return nil, attrs, false
	}
	s := raw[:len(raw)-1] // the closing '>' ends every loop below
	// readTagName: up to white space (consumed), '/' or '>'.
	i := start + 1
	for i < len(s) && !isTagSpace(s[i]) && s[i] != '/' {
		i++
	}
	name = t.lower(s[start:i])
	if i < len(s) && isTagSpace(s[i]) {
		i++
	}
	if tt == html.EndTagToken {
		return name, attrs, true // end tags keep no attributes
	}
	i = skipTagSpace(s, i)
	for i < len(s) && len(attrs) < maxTagAttrs {
		// readTagAttrKey: a leading '=' is part of the key.
		ks := i
		for i < len(s) {
			c := s[i]
			if c == '=' && i == ks {
				i++
				continue
			}
			if c == '=' || isTagSpace(c) || c == '/' {
				break
			}
			i++
		}
		key := s[ks:i]
		// readTagAttrVal
		var val []byte
		i = skipTagSpace(s, i)
		if i < len(s) {
			switch s[i] {
			case '/':
				i++
			case '=':
				i = skipTagSpace(s, i+1)
				if i < len(s) {
					if q := s[i]; q == '"' || q == '\'' {
						j := bytes.IndexByte(s[i+1:], q)
						if j < 0 {
							// The quote runs past this '>': the tokenizer
							// read on, so raw would hold the closing one.
							return nil, attrs, false
						}
						val = s[i+1 : i+1+j]
						i += j + 2
					} else {
						vs := i
						for i < len(s) && !isTagSpace(s[i]) {
							i++
						}
						val = s[vs:i]
						if i < len(s) {
							i++
						}
					}
				}
			}
		}
		if bytes.IndexByte(val, '&') >= 0 || bytes.IndexByte(val, '\r') >= 0 {
			return nil, attrs, false // entities and CRs: the tokenizer's unescape
		}
		if len(key) > 0 {
			k := t.lower(key)
			if !attrs.hasKey(k) {
				attrs = append(attrs, attrKV{k, val})
			}
		}
		i = skipTagSpace(s, i)
	}
	return name, attrs, true
}

func skipTagSpace(s []byte, i int) int {
	for i < len(s) && isTagSpace(s[i]) {
		i++
	}
	return i
}

func (a attrList) hasKey(k []byte) bool {
	for _, kv := range a {
		if bytes.Equal(kv.k, k) {
			return true
		}
	}
	return false
}
