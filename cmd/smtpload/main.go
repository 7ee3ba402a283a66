// Command smtpload is an SMTP load generator, like Postfix's smtp-source:
// it sends N messages of S bytes over C concurrent connections and reports
// the rate, the per-message latency and the failures by reply code.
//
// It exits 0 when every message was accepted (or, with -gtube, rejected as
// spam), 1 when some message failed otherwise, and 2 on bad usage.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const usageText = `Usage: smtpload [flags]

smtpload sends -n messages with -s-byte bodies to the SMTP server at -addr
over -c concurrent connections, each reused for all of its messages (or
for -per-conn messages, then QUIT and reconnect), like Postfix's
smtp-source. Messages look like real mail: Date, Message-ID, From, To,
Subject and a plain-text body of words in lines under 78 characters.
With -replay, it sends real messages instead: one file, or every file of
a folder (a corpus of real mail, a Maildir), round-robin, as they are.

It prints the messages sent, the failures by reply code, the rate in
messages per second, per-message latency (MAIL to the final reply) at
p50/p90/p99/max, and the bytes sent. With -gtube, a fraction of bodies
carry the GTUBE test string so a spam filter's reject path can be
measured; those rejected with a 5xx reply count as expected. With
-pipeline, MAIL, RCPT and DATA go in one write and their replies are read
after it (RFC 2920), as Postfix and Exim send; without it each command
waits for its reply.

Exit status: 0 if every message was accepted or an expected GTUBE
reject, 1 if any other message failed, 2 on bad usage.

Send load only to servers you run, on loopback.

Flags:
`

func main() {
	os.Exit(mainWithArgs(os.Args[1:], os.Stdout, os.Stderr))
}

func mainWithArgs(args []string, stdout, stderr io.Writer) int {
	cfg, jsonOut, maxTime, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, cancelTime := context.WithTimeout(ctx, maxTime)
	defer cancelTime()

	rep, err := run(ctx, cfg)
	if rep.Requested == 0 {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if jsonOut {
		enc := json.NewEncoder(stdout)
		if encErr := enc.Encode(rep); encErr != nil {
			fmt.Fprintf(stderr, "smtpload: writing report: %v\n", encErr)
			return 1
		}
	} else {
		rep.print(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if rep.Unexpected > 0 {
		fmt.Fprintf(stderr, "smtpload: %d of %d messages failed\n", rep.Unexpected, rep.Requested)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (cfg Config, jsonOut bool, maxTime time.Duration, err error) {
	fs := flag.NewFlagSet("smtpload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:2525", "SMTP server `host:port`")
	fs.IntVar(&cfg.Messages, "n", 1000, "number of messages to send")
	fs.IntVar(&cfg.Size, "s", 5120, "body size of each message in `bytes` (0, or at least 2)")
	fs.IntVar(&cfg.Concurrency, "c", 20, "concurrent connections")
	fs.IntVar(&cfg.PerConn, "per-conn", 0, "messages per connection before QUIT and reconnect; 0 reuses each connection for all its messages")
	fs.StringVar(&cfg.From, "from", "loadgen@example.com", "envelope and header sender `address`")
	fs.StringVar(&cfg.To, "to", "user@example.net", "recipient `address`, or a domain to spread messages over user000..user999@domain")
	fs.StringVar(&cfg.Helo, "helo", "smtpload.example.com", "EHLO `name`, also the Message-ID domain")
	fs.DurationVar(&cfg.Timeout, "timeout", 60*time.Second, "bound on connecting, on each command's reply and on each message's transfer and final reply")
	fs.Float64Var(&cfg.GTUBE, "gtube", 0, "`fraction` of messages (0..1) whose body carries the GTUBE spam test string")
	replay := fs.String("replay", "", "send the message `file`, or every message file of a folder (recursively, round-robin), as they are, instead of generated ones; the envelope still comes from -from and -to")
	fs.BoolVar(&cfg.Pipeline, "pipeline", false, "send MAIL, RCPT and DATA in one write, as Postfix and Exim do (RFC 2920 PIPELINING); default: wait for each reply, as go-smtp's client does")
	fs.BoolVar(&cfg.RejectsExpected, "rejects-expected", false, "count 5xx replies as expected (a replayed folder with spam in it, sent through a filter), not as failures")
	fs.BoolVar(&jsonOut, "json", false, "print the report as one JSON object")
	fs.DurationVar(&maxTime, "max-time", 30*time.Minute, "stop the whole run after this long (counts as failure)")
	if err := fs.Parse(args); err != nil {
		return cfg, false, 0, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "smtpload: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return cfg, false, 0, errors.New("unexpected arguments")
	}
	if maxTime <= 0 {
		fmt.Fprintf(stderr, "smtpload: -max-time %v: must be positive\n", maxTime)
		return cfg, false, 0, errors.New("bad -max-time")
	}
	if *replay != "" {
		if cfg.Replay, err = loadReplay(*replay); err != nil {
			fmt.Fprintf(stderr, "smtpload: -replay: %v\n", err)
			return cfg, false, 0, err
		}
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(stderr, "smtpload: %v\n", err)
		return cfg, false, 0, err
	}
	return cfg, jsonOut, maxTime, nil
}
