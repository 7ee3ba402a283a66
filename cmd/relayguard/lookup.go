package main

import (
	"context"
	"flag"
	"fmt"
	"io"
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

For an IP: is it listed on each configured DNSBL and DNSWL (return codes and
TXT), and its reverse DNS with the forward-confirmed result. For a domain:
is its registrable domain listed on each configured URIBL.

Exit status: 0 not listed on any blocklist; 1 listed on at least one;
3 not listed, but some list could not answer (timeout, or a refusal code
such as Spamhaus' 127.255.255.254 for public resolvers); 2 usage error.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	log := newLogger("text", "error", stderr)
	res, err := newResolver(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	lists := listConfig(cfg, res, log)
	if len(lists.DNSBL)+len(lists.DNSWL)+len(lists.URIBL) == 0 {
		fmt.Fprintln(stderr, "relayguard: no lists configured: add [[dnsbl]], [[dnswl]] or [[uribl]] entries to the config (see relayguard config default)")
	}
	listed, unanswered := false, false
	for _, target := range fs.Args() {
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
			unanswered = unanswered || r.Err != nil
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
