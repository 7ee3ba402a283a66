package heuristics

import "fmt"

// Heuristics that read the HTML forms: a form in mail is rare in ham, and
// one that asks for a password or posts to another site than the sender's
// is how credentials are harvested without a web page.

// formPassword finds an <input type=password> in the message's HTML.
func formPassword(in *Input) (string, bool) {
	s := in.Msg.Structure()
	if s.PasswordInputs == 0 {
		return "", false
	}
	for _, f := range s.HTMLForms {
		if f.Password && f.Host != "" {
			return "password field posting to " + f.Host, true
		}
	}
	return fmt.Sprintf("%d password fields", s.PasswordInputs), true
}

// formOffsite finds a form of at least two fields (a user name and a
// password, a card number and its code) whose action posts to a host whose
// registered domain is none of the From domains'. A one-field form is a
// newsletter's search or subscribe box, common in ham of the 2000s.
func formOffsite(in *Input) (string, bool) {
	from := in.fromRegistered()
	for _, f := range in.Msg.Structure().HTMLForms {
		if f.Host != "" && f.Fields >= 2 && !from.has(registeredDomain(f.Host)) {
			return fmt.Sprintf("%d fields posting to %s", f.Fields, f.Host), true
		}
	}
	return "", false
}
