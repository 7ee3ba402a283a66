package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"relayguard/config"
	"relayguard/console"
	"relayguard/internal/bounce"
	"relayguard/scoring/dns"
	"relayguard/scoring/dnsbl"
)

// runBounce is `relayguard bounce FILE|-`: a customer pasted a bounce,
// the support desk asks "why?". It explains the bounce and, for a
// blocklist, asks the list now whether the IP it names (and our egress
// IPs) is still listed, with the DNS client and list code `lookup` uses.
func runBounce(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bounce", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration `file`: its [[dnsbl]] lists, [dns] servers, access.egress_ips and blocklists.removal_pages")
	asJSON := fs.Bool("json", false, "print the explanation as one JSON object")
	noLookup := fs.Bool("no-lookup", false, "do not ask the blocklist about the listed IP and our egress IPs")
	timeout := fs.Duration("timeout", 10*time.Second, "bound on the live lookups")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: relayguard bounce [-config FILE] [-json] [-no-lookup] FILE|-

Explains a bounce a customer received: a delivery status notification
(RFC 3464), the text of an Exim, Postfix, Exchange, Gmail or Yahoo bounce,
or a pasted SMTP reply ("-" reads standard input). For each failed
recipient: the remote host that refused, the reply code and enhanced code,
what the remote said, at which stage, why (blocklist, reputation, spam
content, SPF/DKIM/DMARC, unknown recipient or typo, mailbox full, rate
limited, greylisted, too big, relay denied, TLS required) and what to do
next, with the list's removal page (blocklists.removal_pages).

For a blocklist with a DNS zone, the IP the remote names and our
access.egress_ips are looked up on that list now: on the configured
[[dnsbl]] entries under the list's zone, or else on its public zone.
-no-lookup skips that. Only the first 256 KiB of the input is read.

Exit status: 0 explained; 1 no bounce found in the input; 2 usage error,
unreadable input or configuration.

`)
		fs.PrintDefaults()
	}
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(rest) != 1 {
		fs.Usage()
		fmt.Fprintln(stderr, "\nrelayguard: bounce reads one FILE, or - for standard input")
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 2
	}
	raw, err := readBounce(rest[0], stdin)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 2
	}
	rep := bounce.Explainer{RemovalPages: cfg.Blocklists.RemovalPages}.Explain(raw)
	if !rep.Found {
		fmt.Fprintln(stderr, "relayguard: no bounce found: no SMTP reply, delivery status or bounce text in the input")
		return 1
	}
	var lookups []bounce.Lookup
	if !*noLookup {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		lookups, err = lookupBounceLists(ctx, cfg, rep, func() (dns.Resolver, error) {
			return newResolver(cfg, newLogger("text", "error", stderr))
		})
		cancel()
		if err != nil {
			fmt.Fprintln(stderr, "relayguard:", err)
			return 2
		}
	}
	if *asJSON {
		out := struct {
			bounce.Report
			Lookups []bounce.Lookup `json:"lookups,omitempty"`
		}{rep, lookups}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return 2
		}
		return 0
	}
	writeBounceText(stdout, rep, lookups)
	return 0
}

// readBounce reads at most bounce.MaxInput+1 bytes (one more than is read,
// so the report can say it was cut).
func readBounce(name string, stdin io.Reader) ([]byte, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("bounce: %w", err)
		}
		defer f.Close()
		r = f
	}
	raw, err := io.ReadAll(io.LimitReader(r, bounce.MaxInput+1))
	if err != nil {
		return nil, fmt.Errorf("bounce: reading %s: %w", name, err)
	}
	return raw, nil
}

// lookupBounceLists asks each blocklist the bounce names about the IP it
// names and our egress IPs, once per list, through the resolver
// newResolver makes when the first list is asked (serve passes its own).
func lookupBounceLists(ctx context.Context, cfg *config.Config, rep bounce.Report, newResolver func() (dns.Resolver, error)) ([]bounce.Lookup, error) {
	var out []bounce.Lookup
	done := map[string]bool{}
	var res *dnsbl.Config
	for _, f := range rep.Failures {
		if f.Category != bounce.Blocklist || f.List == nil || done[f.List.Name+"\x00"+f.ListedIP] {
			continue
		}
		done[f.List.Name+"\x00"+f.ListedIP] = true
		lists, configured := zonesOf(cfg, *f.List)
		if len(lists) == 0 {
			// Microsoft, Proofpoint, Cloudmark, invaluement: no public zone.
			out = append(out, bounce.Lookup{List: f.List.Name, Skipped: "the list has no public DNS zone to ask; see its removal page"})
			continue
		}
		named := map[netip.Addr]bool{}
		var ips []netip.Addr
		if ip, err := netip.ParseAddr(f.ListedIP); err == nil {
			ips, named[ip] = append(ips, ip), true
		}
		for _, ip := range cfg.Access.EgressIPs {
			if !named[ip] {
				ips = append(ips, ip)
			}
		}
		if len(ips) == 0 {
			out = append(out, bounce.Lookup{List: f.List.Name, Skipped: "no IP in the bounce, and no access.egress_ips in the configuration"})
			continue
		}
		if res == nil {
			r, err := newResolver()
			if err != nil {
				return nil, err
			}
			res = &dnsbl.Config{Resolver: r}
		}
		lc := *res
		lc.DNSBL = lists
		results, err := dnsbl.CheckEgress(ctx, lc, ips, cfg.Blocklists.RemovalPages)
		if err != nil {
			return nil, fmt.Errorf("bounce: looking up %s: %w", f.List.Name, err)
		}
		for _, r := range results {
			l := bounce.Lookup{List: f.List.Name, IP: r.IP.String(), Role: "egress IP", Zone: r.Zone,
				Listed: r.Listed, Codes: r.Codes, TXT: r.TXT, Configured: configured}
			if named[r.IP] {
				l.Role = "named in the bounce"
			}
			if r.Err != nil {
				l.Error = r.Err.Error()
			}
			out = append(out, l)
		}
	}
	return out, nil
}

// zonesOf is the configured [[dnsbl]] entries under one of l's zones, or
// else l's public zone; configured says which.
func zonesOf(cfg *config.Config, l bounce.List) (lists []dnsbl.List, configured bool) {
	for _, c := range cfg.DNSBL {
		zone := strings.ToLower(strings.TrimSuffix(c.Zone, "."))
		for _, z := range l.Zones {
			if zone == z || strings.HasSuffix(zone, "."+z) {
				lists = append(lists, dnsbl.List{Zone: c.Zone, Weight: c.Weight, Codes: c.Codes, Policy: c.Policy,
					Name: c.Name, Bitmask: c.Bitmask, Test: c.Test})
				break
			}
		}
	}
	if len(lists) > 0 {
		return lists, true
	}
	if l.Query == "" {
		return nil, false
	}
	return []dnsbl.List{{Zone: l.Query, Weight: 1}}, false
}

// writeBounceText writes the report for a terminal.
func writeBounceText(w io.Writer, rep bounce.Report, lookups []bounce.Lookup) {
	var b strings.Builder
	n := len(rep.Failures)
	fmt.Fprintf(&b, "Bounce: %s, %d failed recipient%s\n", rep.Format, n, map[bool]string{true: "", false: "s"}[n == 1])
	if rep.Truncated {
		fmt.Fprintf(&b, "(only the first %d bytes were read)\n", bounce.MaxInput)
	}
	for _, f := range rep.Failures {
		b.WriteString("\n")
		field := func(name, value string) {
			if value != "" {
				b.WriteString(wrapField(name, value))
			}
		}
		field("Recipient", orDash(f.Recipient, "(not given in the bounce)"))
		host := f.RemoteHost
		if f.RemoteIP != "" {
			host = strings.TrimSpace(host + " [" + f.RemoteIP + "]")
		}
		field("Refused by", host)
		reply := ""
		if f.Code != 0 {
			reply = fmt.Sprint(f.Code)
		}
		if f.Enhanced != "" {
			reply = strings.TrimSpace(reply + " " + f.Enhanced)
		}
		if reply != "" && f.Temporary {
			reply += " (temporary)"
		}
		if f.Stage != "" {
			reply = strings.TrimSpace(reply + ", at " + f.Stage)
		}
		field("Reply", reply)
		field("Remote said", f.Text)
		field("Why", string(f.Category)+": "+f.Category.Describe())
		if f.List != nil {
			field("List", f.List.Name)
			field("Removal page", f.List.RemovalPage)
		}
		field("Listed IP", f.ListedIP)
		field("Spam score", f.Score)
		field("Did you mean", f.Suggestion)
		field("What to do", f.Advice)
		for _, l := range lookups {
			if f.List == nil || l.List != f.List.Name {
				continue
			}
			if l.Skipped != "" {
				field("Lookup now", "not asked: "+l.Skipped)
				continue
			}
			state := "not listed"
			switch {
			case l.Error != "":
				state = "could not ask: " + l.Error
			case l.Listed:
				state = "LISTED " + strings.Join(l.Codes, ",")
				if l.TXT != "" {
					state += " " + fmt.Sprintf("%q", l.TXT)
				}
			}
			where := l.Zone
			if !l.Configured {
				where += " (public zone; not a [[dnsbl]] of the config)"
			}
			field("Lookup now", fmt.Sprintf("%s (%s) on %s: %s", l.IP, l.Role, where, state))
		}
	}
	io.WriteString(w, b.String())
}

func orDash(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

// wrapField writes "Name:  value" with the value wrapped at 78 columns
// and continued under itself.
func wrapField(name, value string) string {
	const indent, width = 14, 78
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s", indent, name+":")
	col := indent
	for i, word := range strings.Fields(value) {
		if i > 0 && col+1+len(word) > width {
			b.WriteString("\n" + strings.Repeat(" ", indent))
			col = indent
		} else if i > 0 {
			b.WriteString(" ")
			col++
		}
		b.WriteString(word)
		col += len(word)
	}
	b.WriteString("\n")
	return b.String()
}

// consoleBounce is the console's bounce page: the same explanation and
// lookups as the command, through serve's resolver and cache.
func consoleBounce(cfg *config.Config, res dns.Resolver, log *slog.Logger) console.BounceExplainer {
	return func(ctx context.Context, raw []byte) (bounce.Report, []bounce.Lookup) {
		rep := bounce.Explainer{RemovalPages: cfg.Blocklists.RemovalPages}.Explain(raw)
		if res == nil {
			return rep, nil
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		ls, err := lookupBounceLists(ctx, cfg, rep, func() (dns.Resolver, error) { return res, nil })
		if err != nil {
			log.Warn("console: bounce lookups", "err", err)
		}
		return rep, ls
	}
}
