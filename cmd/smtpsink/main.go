// Command smtpsink is a minimal, fast SMTP sink for load tests: it accepts
// every sender, recipient and message, answers 250, counts what it got and
// throws the message away (or keeps it in a Maildir with -maildir).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
)

const usageText = `Usage: smtpsink [flags]

smtpsink listens for SMTP on -listen, accepts every message with 250 and
discards it, counting sessions, messages and bytes. It is the far end of
load tests: smtpload measures the same sink straight and through
relayguard. With -maildir it writes each message into a Maildir instead.

On SIGINT or SIGTERM it prints the counts and exits. With -stats it also
prints them at that interval.

Flags:
`

func main() {
	os.Exit(mainWithArgs(os.Args[1:], os.Stderr))
}

func mainWithArgs(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("smtpsink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	listen := fs.String("listen", "127.0.0.1:2526", "`host:port` to listen on")
	maildir := fs.String("maildir", "", "keep messages in this Maildir `folder` (default: discard them)")
	hostname := fs.String("hostname", "smtpsink.test", "`name` in the greeting")
	maxSize := fs.Int64("max-size", 64<<20, "largest message accepted, in `bytes`")
	statsEvery := fs.Duration("stats", 0, "print counts at this `interval` (0: only at exit)")
	debug := fs.Bool("debug", false, "print every SMTP command and reply to stderr (slow: for looking, not for measuring)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "smtpsink: unexpected arguments %q\n", fs.Args())
		return 2
	}
	log.SetOutput(stderr)
	log.SetFlags(log.LstdFlags)

	sink, err := NewSink(*maildir)
	if err != nil {
		log.Printf("smtpsink: %v", err)
		return 1
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Printf("smtpsink: %v", err)
		return 1
	}
	srv := newServer(sink, *hostname, *maxSize)
	if *debug {
		srv.Debug = stderr
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Printf("smtpsink: listening on %s", ln.Addr())

	var tick <-chan time.Time
	if *statsEvery > 0 {
		t := time.NewTicker(*statsEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
			log.Printf("smtpsink: %s", sink.Stats())
		case err := <-done:
			log.Printf("smtpsink: serving %s: %v", ln.Addr(), err)
			return 1
		case <-ctx.Done():
			srv.Close()
			log.Printf("smtpsink: stopped: %s", sink.Stats())
			return 0
		}
	}
}

// newServer wraps sink in a go-smtp server.
func newServer(sink *Sink, hostname string, maxSize int64) *smtp.Server {
	srv := smtp.NewServer(sink)
	srv.Domain = hostname
	srv.MaxMessageBytes = maxSize
	srv.MaxRecipients = 1000
	srv.ReadTimeout = 5 * time.Minute
	srv.WriteTimeout = 5 * time.Minute
	srv.ErrorLog = log.Default()
	return srv
}

func (s Stats) String() string {
	return fmt.Sprintf("%d sessions, %d messages, %d bytes, %d failed", s.Sessions, s.Messages, s.Bytes, s.Failed)
}
