package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"relayguard/config"
	"relayguard/scoring/dnsbl"
)

// runLookup is `relayguard lookup IP|DOMAIN`: what an operator runs when a
// customer says "my mail bounces, am I blacklisted?".
func runLookup(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lookup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration `file` with the [[dnsbl]], [[dnswl]] and [[uribl]] lists and [dns] servers")
	timeout := fs.Duration("timeout", 10*time.Second, "bound on the whole lookup")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: relayguard lookup [-config FILE] IP|DOMAIN...
       relayguard lookup -config FILE

Without a target: is any of our own sending addresses (access.egress_ips)
listed on a configured DNSBL? One line per IP and list: listed or not, the
return code, the list's TXT reason and where to ask for removal
(blocklists.removal_pages). Same exit status as below.

For an IP: is it listed on each configured DNSBL and DNSWL (return codes and
TXT), and its reverse DNS with the forward-confirmed result. For a domain:
is its registrable domain listed on each configured URIBL. Flags may come
before or after the targets.

Every list asked is also tested as RFC 5782 section 5 allows (and as serve
does): an IP list must list 127.0.0.2 and not 127.0.0.1, a domain list must
list "test" and not "invalid". A list that fails is shown BROKEN: its answer
is no listing (serve ignores it too).

Exit status: 0 not listed on any blocklist; 1 listed on at least one
working blocklist; 3 not listed, but some list could not answer (timeout,
or a refusal code such as Spamhaus' 127.255.255.254 for public resolvers)
or is broken; 2 usage error. Reverse DNS does not change the exit status.

`)
		fs.PrintDefaults()
	}
	targets, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	if len(targets) == 0 && len(cfg.Access.EgressIPs) == 0 {
		fs.Usage()
		fmt.Fprintln(stderr, "\nrelayguard: no target given and no access.egress_ips in the config to check")
		return 2
	}
	res, err := newResolver(cfg, newLogger("text", "error", stderr))
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	// The report says what the lists' log lines would (a broken list, a
	// list that could not be tested), so they are not printed twice.
	lists := listConfig(cfg, res, slog.New(slog.DiscardHandler))
	if len(lists.DNSBL)+len(lists.DNSWL)+len(lists.URIBL) == 0 {
		fmt.Fprintln(stderr, "relayguard: no lists configured: add [[dnsbl]], [[dnswl]] or [[uribl]] entries to the config (see relayguard config default)")
	}
	if len(targets) == 0 {
		return lookupEgress(cfg, lists, *timeout, stdout, stderr)
	}
	listed, unanswered := false, false
	for _, target := range targets {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		rep := dnsbl.Lookup(ctx, lists, target)
		cancel()
		if err := rep.WriteText(stdout); err != nil {
			return 2
		}
		if rep.Err != nil {
			fmt.Fprintf(stderr, "relayguard: %s: %v\n", target, rep.Err)
			return 2
		}
		for _, r := range rep.Results {
			listed = listed || r.Listed && r.Kind != "dnswl"
			unanswered = unanswered || r.Err != nil || r.Broken != ""
		}
	}
	switch {
	case listed:
		return 1
	case unanswered:
		return 3
	}
	return 0
}

// lookupEgress is `relayguard lookup` without a target: the egress IPs
// on every DNSBL, with the exit status of a lookup.
func lookupEgress(cfg *config.Config, lists dnsbl.Config, timeout time.Duration, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	results, err := dnsbl.CheckEgress(ctx, lists, cfg.Access.EgressIPs, cfg.Blocklists.RemovalPages)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 2
	}
	if err := dnsbl.WriteEgressText(stdout, results); err != nil {
		return 2
	}
	listed, unanswered := false, false
	for _, r := range results {
		listed = listed || r.Listed
		unanswered = unanswered || r.Err != nil
	}
	switch {
	case listed:
		return 1
	case unanswered:
		return 3
	}
	return 0
}

// parseInterspersed parses fs's flags wherever they stand among args
// ("lookup 192.0.2.1 -config FILE" as well as "lookup -config FILE
// 192.0.2.1") and returns the other arguments, in order. After "--" every
// argument is a target.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		left := fs.Args()
		if consumed := len(args) - len(left); consumed > 0 && args[consumed-1] == "--" {
			return append(rest, left...), nil
		}
		if len(left) == 0 {
			return rest, nil
		}
		rest = append(rest, left[0])
		args = left[1:]
	}
}
