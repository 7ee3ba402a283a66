package received

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"relayguard/scoring"
	"relayguard/scoring/dnsbl"
	"relayguard/scoring/rdns"
)

// HopOptions configures the original-hop check. Any of the checks may be
// nil, and is then not run on the hop.
type HopOptions struct {
	DNSBL *dnsbl.IPCheck
	RDNS  *rdns.RDNSCheck
	HELO  *rdns.HELOCheck
}

// HopCheck judges the original hop of mail that a trusted relay forwarded
// to us ("received", end of DATA): the DNSBL, reverse DNS and HELO checks
// run on the IP and HELO recorded by the relay, so forwarded spam is judged
// by the host that sent it to the forwarder, not by the forwarder. Its
// symbols carry the RCVD_ prefix and their details name the hop and why it
// was chosen. The engine finds the hop (Input.Hop) once per message.
type HopCheck struct {
	opts HopOptions
}

// NewHopCheck makes the check.
func NewHopCheck(opts HopOptions) *HopCheck { return &HopCheck{opts: opts} }

func (c *HopCheck) Name() string         { return "received" }
func (c *HopCheck) Phase() scoring.Phase { return scoring.PhaseData }

// Run finds the original hop and judges it.
func (c *HopCheck) Run(ctx context.Context, in *scoring.Input) scoring.Result {
	if in.Hop == nil {
		return scoring.Result{}
	}
	hop := in.Hop
	via := fmt.Sprintf("first untrusted hop, via trusted relay %s", hop.Via)
	// An authenticated hop is our customer's own submission: a home line
	// rightly has no reverse DNS, a laptop a sloppy HELO, and policy
	// listings weigh nothing on a hop. Real blocklist listings still count:
	// a customer's password used from an infected machine (XBL) is the
	// classic start of outbound spam.
	customer := hop.Authenticated()
	if customer {
		via = fmt.Sprintf("authenticated submission, via trusted relay %s", hop.Via)
	}

	var parts [3]scoring.Result
	var wg sync.WaitGroup
	if c.opts.DNSBL != nil {
		wg.Go(func() { parts[0] = c.opts.DNSBL.Judge(ctx, hop.IP, via) })
	}
	if c.opts.RDNS != nil && !customer {
		wg.Go(func() { parts[1] = c.opts.RDNS.Judge(ctx, hop.IP, via) })
	}
	if c.opts.HELO != nil && hop.Helo != "" && !customer {
		wg.Go(func() { parts[2] = c.opts.HELO.Judge(ctx, hop.Helo, hop.IP, via) })
	}
	wg.Wait()

	var res scoring.Result
	var errs []error
	for _, p := range parts {
		res.Symbols = append(res.Symbols, p.Symbols...)
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	res.Err = errors.Join(errs...)
	return res
}
