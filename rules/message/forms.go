package message

import (
	"bytes"
	"strings"
)

// Form is an HTML <form> in the message. A form in mail is rare in ham
// (mail readers mostly refuse to submit one) and the heart of a
// credential-harvesting message: it posts what the reader types to the
// host of its action.
type Form struct {
	// Action is the action attribute as written ("" when there is none).
	Action string
	// Host is where the form posts: the normalised host of Action after
	// any redirector it carries (as Link.Host); "" for no action or one
	// that is not a web address.
	Host string
	// Method is the method attribute, lower case ("" when not given).
	Method string
	// Fields counts the inputs a reader types into (text, email, tel,
	// number, password, no type); hidden inputs and buttons are not.
	Fields int
	// Password is set when the form has an <input type=password>.
	Password bool
}

// maxForms bounds the forms kept per HTML part.
const maxForms = 50

func newForm(action, method string) Form {
	f := Form{Action: ClipText(action, maxLinkText), Method: strings.ToLower(strings.TrimSpace(method))}
	if l, ok := ResolveURL(action); ok {
		f.Host = l.Host
	}
	return f
}

// countInput records an <input> of type typ (lower case) in the form open
// at index form of res.formList (-1: outside any form).
func countInput(res *htmlResult, form int, typ string) {
	password := typ == "password"
	if password {
		res.passwords++
	}
	if form < 0 || form >= len(res.formList) {
		return
	}
	switch typ {
	case "", "text", "email", "tel", "number", "password", "search":
		res.formList[form].Fields++
	}
	if password {
		res.formList[form].Password = true
	}
}

// inlineScheme tells whether a link, form action or frame source carries
// its own content or code instead of naming a web page: a data:,
// javascript: or vbscript: URI. Browsers ignore leading blanks and tabs or
// line breaks inside the scheme ("java\tscript:"), so the test does too.
// javascript:void(0) and friends, which do nothing, are not counted.
func inlineScheme[T ~string | ~[]byte](v T) bool {
	// The scheme and what follows it, blanks dropped, lower case: the
	// first 40 bytes, in a buffer on the stack (this runs for every link).
	var buf [40]byte
	n := 0
	for i := 0; i < len(v) && n < len(buf); i++ {
		c := v[i]
		if c <= ' ' {
			continue
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	s := buf[:n]
	switch {
	case bytes.HasPrefix(s, []byte("data:")), bytes.HasPrefix(s, []byte("vbscript:")):
		return true
	case bytes.HasPrefix(s, []byte("javascript:")):
		rest := bytes.TrimSuffix(s[len("javascript:"):], []byte(";"))
		switch string(rest) {
		case "", "void(0)", "void0", "void(null)", "//", "false", "return(false)", "returnfalse":
			return false
		}
		return true
	}
	return false
}
