package received

import (
	"net/netip"
	"time"

	"github.com/emersion/go-message/textproto"

	"relayguard/internal/access"
	"relayguard/rules"
)

// maxHops bounds the walk down the Received fields: RFC 5321 §6.3 has
// relays count hops to break loops, and no honest trusted chain is long.
const maxHops = 20

// OriginalHop finds where a message entered trusted hands. Only when the
// client itself is a trusted relay are its Received fields believed: the
// topmost field was written by the client, and each further field by the
// host named in the field above it. The walk goes top-down past hops whose
// client was another trusted relay and stops at the first untrusted one,
// which is returned with Via set to the trusted relay that recorded it.
//
// It returns false when there is nothing to believe (no trusted relays
// configured, or the client is not one), when a field on the way cannot be
// read (a forged or broken field must not steer us further down), or when
// the message never left trusted hands (local submission on the relay).
func OriginalHop(h textproto.Header, trusted []netip.Prefix, clientIP netip.Addr) (Hop, bool) {
	if !access.Contains(trusted, clientIP) {
		return Hop{}, false
	}
	return walk(h, trusted, clientIP.Unmap())
}

// HopFunc adapts the walk for callers that have already established that
// the client is a trusted relay and only have the message, such as
// scoring/auth's Options.OriginalHop (SPF for the original hop). Via is not
// known there and stays zero.
func HopFunc(trusted []netip.Prefix) func(msg *rules.Message) (ip netip.Addr, helo string, ok bool) {
	return func(msg *rules.Message) (netip.Addr, string, bool) {
		if msg == nil || len(trusted) == 0 {
			return netip.Addr{}, "", false
		}
		hop, ok := walk(msg.Header, trusted, netip.Addr{})
		return hop.IP, hop.Helo, ok
	}
}

// walk goes down the Received fields of a message whose client (via) is
// trusted; see OriginalHop.
func walk(h textproto.Header, trusted []netip.Prefix, via netip.Addr) (Hop, bool) {
	for i, v := range h.Values("Received") {
		if i >= maxHops {
			break
		}
		hop, err := Parse(v)
		if err != nil {
			return Hop{}, false
		}
		if access.Contains(trusted, hop.IP) {
			via = hop.IP
			continue
		}
		hop.Via = via
		return hop, true
	}
	return Hop{}, false
}

// NewestTrustedTime is the date of the topmost Received field when the
// client is a trusted relay (that field is then the relay's own), else the
// zero time and false. Content rules judge a Date header against it.
func NewestTrustedTime(h textproto.Header, trusted []netip.Prefix, clientIP netip.Addr) (time.Time, bool) {
	if !access.Contains(trusted, clientIP) {
		return time.Time{}, false
	}
	vals := h.Values("Received")
	if len(vals) == 0 {
		return time.Time{}, false
	}
	hop, _ := Parse(vals[0])
	return hop.Time, !hop.Time.IsZero()
}
