package bounce

import "strings"

// providers are the mailbox providers whose names people mistype most.
// A recipient domain one edit away from one of them (and not itself a
// provider: ymail.com and mail.com are real) is probably a typo.
var providers = []string{
	"gmail.com", "googlemail.com", "hotmail.com", "hotmail.co.uk", "outlook.com", "live.com", "msn.com",
	"yahoo.com", "yahoo.co.uk", "ymail.com", "aol.com", "icloud.com", "me.com", "mail.com",
	"gmx.com", "gmx.de", "gmx.net", "web.de", "comcast.net", "protonmail.com", "proton.me",
	"zoho.com", "yandex.ru", "mail.ru",
}

// typos are misspellings further than one edit from the provider.
var typos = map[string]string{
	"gmial.com": "gmail.com", "gamil.com": "gmail.com", "gmali.com": "gmail.com", "gmail.con": "gmail.com",
	"hotmial.com": "hotmail.com", "hotamil.com": "hotmail.com", "hotmail.con": "hotmail.com",
	"yaho.com": "yahoo.com", "yahooo.com": "yahoo.com", "yhaoo.com": "yahoo.com", "yahoo.con": "yahoo.com",
	"outlok.com": "outlook.com", "outlook.con": "outlook.com", "iclod.com": "icloud.com",
}

// suggestAddress is addr with its domain corrected when the domain looks
// like a misspelt provider, or "".
func suggestAddress(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 {
		return ""
	}
	domain := strings.ToLower(addr[i+1:])
	if fix, ok := typos[domain]; ok {
		return addr[:i+1] + fix
	}
	for _, p := range providers {
		if domain == p {
			return ""
		}
	}
	if len(domain) < 7 {
		return ""
	}
	for _, p := range providers {
		if oneEdit(domain, p) {
			return addr[:i+1] + p
		}
	}
	return ""
}

// oneEdit reports whether a and b differ by one insertion, deletion,
// substitution or swap of neighbours (Damerau).
func oneEdit(a, b string) bool {
	if a == b {
		return false
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	switch len(b) - len(a) {
	case 0:
		diff := -1
		for i := 0; i < len(a); i++ {
			if a[i] != b[i] {
				if diff >= 0 {
					// a second difference: only a swap of neighbours
					return diff == i-1 && a[i] == b[diff] && a[diff] == b[i] && a[i+1:] == b[i+1:]
				}
				diff = i
			}
		}
		return true
	case 1:
		i := 0
		for i < len(a) && a[i] == b[i] {
			i++
		}
		return a[i:] == b[i+1:]
	}
	return false
}
