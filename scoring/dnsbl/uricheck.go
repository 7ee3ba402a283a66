package dnsbl

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/net/idna"

	"relayguard/internal/mailaddr"
	"relayguard/scoring"
)

// URICheck asks the URIBLs about the domains a message names: its links,
// the MAIL FROM domain and the From header domain ("uribl", end of DATA).
// Links to bare IPs are asked of the DNSBLs instead.
type URICheck struct {
	c *compiled
}

// NewURICheck makes the URIBL check from cfg's URIBL lists (and its DNSBL
// lists, for IP links).
func NewURICheck(cfg Config) (*URICheck, error) {
	c, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	return &URICheck{c: c}, nil
}

func (k *URICheck) Name() string         { return "uribl" }
func (k *URICheck) Phase() scoring.Phase { return scoring.PhaseData }

// uriTarget is one distinct thing to look up, with where it was seen.
type uriTarget struct {
	name   string // registrable domain or IP
	ip     bool
	source string // "link domain", "MAIL FROM domain", "From header domain", "link IP"
	count  int
	first  int // order first seen
	sender bool
}

// Targets returns what the check would look up for in, in order, capped at
// MaxLookups: the MAIL FROM and From header domains first (there are at
// most a few, and they are the sender's own claim), then link domains and
// IPs, most frequent first. Domains are reduced to the registrable domain
// (www.shop.example.co.uk to example.co.uk) with the public suffix list,
// as URIBLs list them.
func (k *URICheck) targets(in *scoring.Input) []uriTarget {
	var out []uriTarget
	byName := make(map[string]int) // index in out
	add := func(host, source string, sender bool) {
		name, ip, ok := reduce(host)
		if !ok {
			return
		}
		if i, seen := byName[name]; seen {
			out[i].count++
			return
		}
		if ip {
			source = "link IP"
		}
		byName[name] = len(out)
		out = append(out, uriTarget{name: name, ip: ip, source: source, count: 1, first: len(out), sender: sender})
	}
	if d := mailaddr.Domain(in.From); d != "" {
		add(d, "MAIL FROM domain", true)
	}
	for _, d := range in.FromDomains {
		add(d, "From header domain", true)
	}
	if in.Message != nil {
		for _, h := range k.c.links(in.Message) {
			add(h, "link domain", false)
		}
	}
	slices.SortFunc(out, func(a, b uriTarget) int {
		if a.sender != b.sender {
			if a.sender {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.count, a.count); c != 0 && !a.sender {
			return c
		}
		return cmp.Compare(a.first, b.first)
	})
	return out[:min(len(out), k.c.max)]
}

// reduce turns a host into what a list is asked about: an IP (only public
// ones) or the registrable domain.
func reduce(host string) (name string, ip, ok bool) {
	host = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" || len(host) > 253 {
		return "", false, false
	}
	if a, err := mailaddr.ParseIP(host); err == nil {
		if a.Zone() != "" || !judgeable(a) {
			return "", false, false
		}
		return a.Unmap().String(), true, true
	}
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			a, err := idna.Lookup.ToASCII(host)
			if err != nil {
				return "", false, false
			}
			host = a
			break
		}
	}
	d, ok := mailaddr.Registrable(host)
	if !ok || !strings.Contains(d, ".") {
		return "", false, false
	}
	return d, false, true
}

// Run looks up the message's targets on every enabled list, all in
// parallel: domains on the URIBLs, IPs on the DNSBLs (where end-user
// policy codes weigh nothing: a link to a home IP is no mail sent from
// it). One symbol per list carries the strongest listing and names the
// others; failures are reported as for IPCheck.Judge.
func (k *URICheck) Run(ctx context.Context, in *scoring.Input) scoring.Result {
	targets := k.targets(in)
	if len(targets) == 0 {
		return scoring.Result{}
	}
	uri := k.c.cfg.Monitor.enabledOf(k.c.uri)
	ipl := k.c.cfg.Monitor.enabledOf(k.c.bl)

	var qs []query
	var qt []uriTarget // the target of each query
	for _, t := range targets {
		ls := uri
		if t.ip {
			ls = ipl
		}
		for _, l := range ls {
			qs = append(qs, query{l, t.name})
			qt = append(qt, t)
		}
	}
	got := lookupAll(ctx, k.c.cfg.Resolver, qs)

	// Gather per symbol, in list order, so output is stable.
	type finding struct {
		t     uriTarget
		g     listing
		score float64
	}
	var order []string
	hits := make(map[string][]finding)
	fails := make(map[string][]error)
	listOf := make(map[string]*list)
	for i, g := range got {
		t := qt[i]
		sym := g.l.symbol(false)
		if t.ip {
			sym = g.l.ipSymbol()
		}
		if _, seen := listOf[sym]; !seen {
			listOf[sym] = g.l
			order = append(order, sym)
		}
		switch {
		case g.err != nil:
			fails[sym] = append(fails[sym], g.err)
		case g.listed():
			score, _ := g.l.weigh(g.codes, t.ip)
			hits[sym] = append(hits[sym], finding{t, g, score})
		}
	}
	var res scoring.Result
	var errs []error
	for _, sym := range order {
		if fs := hits[sym]; len(fs) > 0 {
			slices.SortStableFunc(fs, func(a, b finding) int { return cmp.Compare(b.score, a.score) })
			best := fs[0]
			detail := fmt.Sprintf("%s %s listed on %s (%s)", best.t.source, best.t.name, best.g.l.display, joinCodes(best.g.codes))
			if best.g.txt != "" {
				detail += ": " + best.g.txt
			}
			if len(fs) > 1 {
				var others []string
				for _, f := range fs[1:min(len(fs), 4)] {
					others = append(others, f.t.name)
				}
				detail += "; also " + strings.Join(others, ", ")
				if len(fs) > 4 {
					detail += fmt.Sprintf(" and %d more", len(fs)-4)
				}
			}
			res.Symbols = append(res.Symbols, scoring.Symbol{Name: sym, Score: best.score, Detail: detail})
		}
		if es := fails[sym]; len(es) > 0 {
			// One line per list, not per domain: a list that is down
			// fails for all of them the same way.
			res.Symbols = append(res.Symbols, scoring.Symbol{Name: sym + "_TEMPFAIL",
				Detail: fmt.Sprintf("%d of the message's names could not be checked on %s", len(es), listOf[sym].display)})
			err := es[0]
			if len(es) > 1 {
				err = fmt.Errorf("%w (and %d more lookups failed)", err, len(es)-1)
			}
			errs = append(errs, err)
		}
	}
	res.Err = errors.Join(errs...)
	return res
}
