package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"relayguard/internal/access"
	"relayguard/scoring"
)

// IPCheck asks every DNSBL and DNSWL about one IP ("dnsbl", at connect).
type IPCheck struct {
	c     *compiled
	lists []*list // blocklists then allowlists
}

// NewIPCheck makes the IP check from cfg's DNSBL and DNSWL lists.
func NewIPCheck(cfg Config) (*IPCheck, error) {
	c, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	lists := append(append([]*list(nil), c.bl...), c.wl...)
	return &IPCheck{c: c, lists: lists}, nil
}

func (k *IPCheck) Name() string         { return "dnsbl" }
func (k *IPCheck) Phase() scoring.Phase { return scoring.PhaseConnect }

// Run judges the client IP, unless the client is a trusted relay (its
// original hop is judged at end of DATA instead) or authenticated (a
// user's home IP is on policy lists, and rightly sends mail through us).
func (k *IPCheck) Run(ctx context.Context, in *scoring.Input) scoring.Result {
	if !in.ClientIP.IsValid() || in.AuthUser != "" || access.Contains(k.c.cfg.Trusted, in.ClientIP) {
		return scoring.Result{}
	}
	return k.Judge(ctx, in.ClientIP, "")
}

// Judge asks every enabled list about ip, all in parallel. via is empty
// for the client of this connection; for a Received hop it says why that
// IP was chosen ("first untrusted hop, via trusted relay 127.0.0.1"), and
// then symbols get the RCVD_ prefix, the detail carries the reason and
// end-user policy codes weigh nothing.
//
// A list that fails does not fail the others: it gets a zero-score
// <SYMBOL>_TEMPFAIL symbol naming it, and its error is joined into Err, so
// the verdict records that the evidence is incomplete (and the policy's
// tempfail_on_error can act on it) while every answer that did come counts.
func (k *IPCheck) Judge(ctx context.Context, ip netip.Addr, via string) scoring.Result {
	ip = ip.Unmap()
	if !judgeable(ip) {
		return scoring.Result{}
	}
	lists := k.c.cfg.Monitor.enabledOf(k.lists)
	qs := make([]query, len(lists))
	for i, l := range lists {
		qs[i] = query{l, ip.String()}
	}
	got := lookupAll(ctx, k.c.cfg.Resolver, qs)

	who := ip.String()
	if via != "" {
		who = fmt.Sprintf("%s (%s)", ip, via)
	}
	var res scoring.Result
	var errs []error
	for _, g := range got {
		sym := g.l.symbol(via != "")
		switch {
		case g.err != nil:
			errs = append(errs, g.err)
			res.Symbols = append(res.Symbols, scoring.Symbol{Name: sym + "_TEMPFAIL",
				Detail: fmt.Sprintf("%s could not be checked on %s", who, g.l.display)})
		case g.listed():
			score, policyOnly := g.l.weigh(g.codes, via != "")
			detail := fmt.Sprintf("%s listed on %s (%s)", who, g.l.display, joinCodes(g.codes))
			if g.txt != "" {
				detail += ": " + g.txt
			}
			if policyOnly {
				detail += "; an end-user policy listing, not counted for a hop that used its provider's relay"
			}
			res.Symbols = append(res.Symbols, scoring.Symbol{Name: sym, Score: score, Detail: detail})
		}
	}
	res.Err = errors.Join(errs...)
	return res
}
