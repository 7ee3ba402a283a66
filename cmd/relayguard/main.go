// Command relayguard is a spam-scoring SMTP proxy: it receives mail in
// front of an MTA, judges the sender and the content, and either rejects
// the message in the SMTP session with an explanation or relays it to the
// MTA with Authentication-Results and X-Spam headers. It never queues.
package main

import (
	"fmt"
	"io"
	"os"
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
  relayguard config default       print the default configuration, commented
  relayguard version              print the version

Run "relayguard COMMAND -h" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
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
	case "lookup":
		return runLookup(rest, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "relayguard: unknown command %q\n\n%s", cmd, usage)
	return 2
}
