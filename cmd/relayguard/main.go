// Command relayguard is a spam-scoring SMTP proxy: it receives mail in
// front of an MTA, judges the sender and the content, and either rejects
// the message in the SMTP session with an explanation or relays it to the
// MTA with Authentication-Results and X-Spam headers. It never queues.
package main

import (
	"fmt"
	"io"
	"os"
	"slices"
)

const usage = `relayguard: a spam-scoring SMTP proxy that protects your IP's reputation.

Usage:
  relayguard serve -config FILE   run the proxy in front of your MTA
  relayguard dev                  run everything on this machine (port 2525,
                                  maildir upstream, self-signed TLS) for swaks
  relayguard check [flags] FILE|DIR...
                                  score messages offline, like spamassassin -t
  relayguard rules default|list|lint
                                  show, list or check content rules
  relayguard lookup IP|DOMAIN     is it on the configured blocklists? (and its
                                  reverse DNS)
  relayguard lookup -config FILE  are our access.egress_ips on the blocklists?
  relayguard passwd USER          make an access.users_file line (asks for the
                                  password; reads one line when not a terminal)
  relayguard store stats [-config FILE]
                                  what the state store holds: size, keys,
                                  learned messages
  relayguard learn --spam|--ham [--forget] PATH...|-
                                  train the classifier on mail (files,
                                  folders, Maildirs, mbox, stdin); --stats
  relayguard ratelimit show|release KEY
                                  a key's rate-limit counters; lift a hold
  relayguard log [--ref REF] [--from A] [--to A] [--ip IP] [--action A]
                 [--since DATE] [--until DATE] [FILE|-]...
                                  verdicts from the JSON log, one readable
                                  block each: why was it rejected?
  relayguard bounce [--config FILE] [--json] [--no-lookup] FILE|-
                                  explain a bounce a customer received, and
                                  look the blocklist it names up now
  relayguard config default       print the default configuration, commented
  relayguard config check FILE    check a configuration and every file it names
  relayguard version              print the version

Run "relayguard COMMAND -h" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// subcommands of the commands that have them: help for "config check -h"
// is the subcommand's, not the command's.
var subcommands = map[string][]string{
	"config":    {"default", "check"},
	"rules":     {"default", "list", "lint"},
	"store":     {"stats"},
	"ratelimit": {"show", "release"},
}

// helpRequested reports whether args ask for help (-h, -help, --help before
// a "--"), wherever it stands: "check a.eml -h" asks too, and must not score
// a file named "-h".
func helpRequested(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// run answers help for every command the same way (usage on stdout, exit
// 0, like GNU --help: a question, not a usage error) and otherwise runs
// the command.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 1 && helpRequested(args[1:]) {
		// Ask the command with nothing but the help flag, so no other
		// argument is acted on; its flag set prints its usage and
		// returns 2 for flag.ErrHelp, which is not an error here.
		ask := []string{args[0]}
		if sub := args[1]; slices.Contains(subcommands[args[0]], sub) {
			ask = append(ask, sub)
		}
		dispatch(append(ask, "-h"), stdout, stdout)
		return 0
	}
	return dispatch(args, stdout, stderr)
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(rest, stderr)
	case "dev":
		return runDev(rest, stdout, stderr)
	case "check":
		return runCheck(rest, stdout, stderr)
	case "config":
		return runConfig(rest, stdout, stderr)
	case "rules":
		return runRules(rest, stdout, stderr)
	case "ratelimit":
		return runRatelimit(rest, stdout, stderr)
	case "lookup":
		return runLookup(rest, stdout, stderr)
	case "passwd":
		return runPasswd(rest, os.Stdin, stdout, stderr)
	case "store":
		return runStore(rest, stdout, stderr)
	case "learn":
		return runLearn(rest, os.Stdin, stdout, stderr)
	case "log":
		return runLog(rest, os.Stdin, stdout, stderr)
	case "bounce":
		return runBounce(rest, os.Stdin, stdout, stderr)
	case "version", "-version", "--version":
		if helpRequested(rest) {
			fmt.Fprint(stdout, "Usage: relayguard version\n\nPrints the version and how it was built.\n")
			return 0
		}
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "relayguard: unknown command %q\n\n%s", cmd, usage)
	return 2
}
