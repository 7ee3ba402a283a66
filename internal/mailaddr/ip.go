package mailaddr

import (
	"errors"
	"net/netip"
	"strings"
)

// errNotIP is ParseIP's answer for a name that cannot be an address.
var errNotIP = errors.New("not an IP address")

// ParseIP is netip.ParseAddr for strings that are mostly host names (link
// hosts, domains): without a colon only a dotted IPv4 address parses, so
// a string with any other byte is turned away before ParseAddr makes an
// error value for it, an allocation for every name of every message.
func ParseIP(s string) (netip.Addr, error) {
	if !strings.Contains(s, ":") && strings.ContainsFunc(s, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }) {
		return netip.Addr{}, errNotIP
	}
	return netip.ParseAddr(s)
}
