package message

import "strings"

// A fast path for the address lists nearly all mail carries: bare
// addresses and `Name <local@domain>`, in ASCII, with no comments, quoted
// pairs, groups, domain literals or encoded words. net/mail parses such a
// list at some eight allocations an address (the addr-spec it tries
// first, a decoder and a closure for every word of the name, the joined
// name, the *Address); here the answer is sliced out of the value itself.
//
// appendPlainAddresses answers only when it is sure net/mail's ParseList
// would succeed with the same addresses, names and order; on anything
// else it says false and the caller asks net/mail, so every error, and
// every unusual form, is still net/mail's. FuzzPlainAddresses holds the two
// together. The addresses are appended as written (not lower-cased).
func appendPlainAddresses(dst []Address, v string) ([]Address, bool) {
	if !plainAddressBytes(v) {
		return dst, false
	}
	n0 := len(dst)
	i := skipWSP(v, 0)
	for {
		a, next, ok := plainAddress(v, i)
		if !ok {
			return dst[:n0], false
		}
		dst = append(dst, a)
		i = skipWSP(v, next)
		if i == len(v) {
			return dst, true
		}
		if v[i] != ',' {
			return dst[:n0], false
		}
		// net/mail skips a trailing comma; runs of commas (obs-addr-list
		// empty entries) are left to it.
		i = skipWSP(v, i+1)
		if i == len(v) {
			return dst, true
		}
		if v[i] == ',' {
			return dst[:n0], false
		}
	}
}

// plainAddressBytes refuses what the fast path leaves to net/mail: bytes
// outside printable ASCII (but tab), the start of an encoded word, and the
// specials of comments, quoted pairs, groups and domain literals.
func plainAddressBytes(v string) bool {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\t':
		case c < ' ' || c > '~':
			return false
		case c == '\\' || c == '(' || c == ')' || c == ':' || c == ';' || c == '[' || c == ']':
			return false
		case c == '=' && i+1 < len(v) && v[i+1] == '?':
			return false
		}
	}
	return true
}

// plainAddress reads one address at v[i:], i past any blanks, as
// net/mail's parseAddress would: an addr-spec first, else a display name
// (words, joined by single spaces) and an angle-addr.
func plainAddress(v string, i int) (Address, int, bool) {
	if i == len(v) {
		return Address{}, 0, false
	}
	// net/mail tries an addr-spec first, which succeeds only where the
	// leading atom (or quoted string) is followed at once by '@'.
	if isPlainAtext(v[i]) {
		if j := atomEnd(v, i); j < len(v) && v[j] == '@' {
			end, ok := plainAddrSpec(v, i)
			if !ok {
				return Address{}, 0, false
			}
			return Address{Addr: v[i:end]}, end, true
		}
	}
	var name string
	if v[i] != '<' {
		var ok bool
		if name, i, ok = plainPhrase(v, i); !ok {
			return Address{}, 0, false
		}
		i = skipWSP(v, i)
		if i == len(v) || v[i] != '<' {
			return Address{}, 0, false
		}
	}
	// "<" addr-spec ">", with nothing between them (net/mail allows
	// blanks after "<"; those take the full path).
	i++
	if i == len(v) || !isPlainAtext(v[i]) {
		return Address{}, 0, false
	}
	end, ok := plainAddrSpec(v, i)
	if !ok || end == len(v) || v[end] != '>' {
		return Address{}, 0, false
	}
	return Address{Name: name, Addr: v[i:end]}, end + 1, true
}

// plainPhrase reads a display name: atoms (net/mail's permissive
// dot-atoms) and quoted strings, blanks between them, the words joined by
// one space as net/mail joins them. A name written with single spaces
// between atoms, or as one quoted string, is a slice of v.
func plainPhrase(v string, i int) (string, int, bool) {
	var buf [8]string
	words := buf[:0]
	first, end, atomsOnly, singleSpaced := i, -1, true, true
	for i < len(v) {
		var w string
		wordStart := i
		switch c := v[i]; {
		case c == '"':
			closing := strings.IndexByte(v[i+1:], '"')
			if closing < 0 {
				return "", 0, false
			}
			w = v[i+1 : i+1+closing]
			i += closing + 2
			atomsOnly = false
			if i < len(v) && v[i] == '@' {
				return "", 0, false // a quoted local part: net/mail's addr-spec
			}
		case isPlainAtext(c):
			j := atomEnd(v, i)
			w, i = v[i:j], j
		default:
			goto done
		}
		if len(words) == len(buf) {
			return "", 0, false
		}
		if end >= 0 && (wordStart != end+1 || v[end] != ' ') {
			singleSpaced = false
		}
		words = append(words, w)
		end = i
		i = skipWSP(v, i)
	}
done:
	switch {
	case len(words) == 0:
		return "", 0, false
	case len(words) == 1:
		return words[0], i, true
	case atomsOnly && singleSpaced:
		return v[first:end], i, true
	}
	return strings.Join(words, " "), i, true
}

// plainAddrSpec reads local@domain at v[i:], both dot-atoms as net/mail
// takes them (no leading, trailing or double dot), and returns its end.
func plainAddrSpec(v string, i int) (int, bool) {
	at := atomEnd(v, i)
	if at == i || at == len(v) || v[at] != '@' || !plainDotAtom(v[i:at]) {
		return 0, false
	}
	end := atomEnd(v, at+1)
	if end == at+1 || !plainDotAtom(v[at+1:end]) {
		return 0, false
	}
	return end, true
}

// plainDotAtom tells an atom net/mail's strict dot-atom accepts.
func plainDotAtom(a string) bool {
	return a[0] != '.' && a[len(a)-1] != '.' && !strings.Contains(a, "..")
}

// atomEnd is the end of the run of atext (and dots) at v[i:].
func atomEnd(v string, i int) int {
	for i < len(v) && isPlainAtext(v[i]) {
		i++
	}
	return i
}

// isPlainAtext is net/mail's isAtext(c, true) for an ASCII byte.
func isPlainAtext(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', ':', ';', '@', '\\', ',', '"':
		return false
	}
	return '!' <= c && c <= '~'
}

func skipWSP(v string, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	return i
}
