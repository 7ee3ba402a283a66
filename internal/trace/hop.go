package trace

import (
	"net/netip"

	"github.com/emersion/go-message/textproto"
)

// maxHops bounds the walk down the Received fields: RFC 5321 §6.3 has
// relays count hops to break loops, and no honest trusted chain is long.
const maxHops = 20

// OriginalHop finds where a message entered trusted hands. trusted tells
// whether an address is a relay whose Received fields we believe. Only when
// the client itself is trusted are its fields believed: the topmost field
// was written by the client, and each further field by the host named in
// the field above it. The walk goes top-down past hops whose client was
// another trusted relay and stops at the first untrusted one, which is
// returned with Via set to the trusted relay that recorded it.
//
// It returns false when there is nothing to believe (the client is not
// trusted), when a field on the way cannot be read (a forged or broken
// field must not steer us further down), or when the message never left
// trusted hands (local submission on the relay).
func OriginalHop(h textproto.Header, trusted func(netip.Addr) bool, client netip.Addr) (Hop, bool) {
	client = client.Unmap()
	if trusted == nil || !client.IsValid() || !trusted(client) {
		return Hop{}, false
	}
	via := client
	for i, v := range h.Values("Received") {
		if i >= maxHops {
			break
		}
		hop, err := Parse(v)
		if err != nil {
			return Hop{}, false
		}
		if trusted(hop.IP.Unmap()) {
			via = hop.IP
			continue
		}
		hop.Via = via
		return hop, true
	}
	return Hop{}, false
}
