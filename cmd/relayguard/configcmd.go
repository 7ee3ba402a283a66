package main

import (
	"flag"
	"fmt"
	"io"

	"relayguard/config"
)

func runConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage:
  relayguard config default       print the default configuration, commented
  relayguard config check FILE    check FILE: its keys and values (the first
                                  error, with its line), then every file it
                                  names (TLS certificate and key, users file,
                                  rule files, spool directory, maildir
                                  upstream), one problem per line; exit 1 if any
`)
	}
	if helpRequested(args) {
		// "config check -h" too: the flag set would stop at the
		// subcommand word and take -h for a file name.
		fs.Usage()
		return 0
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch fs.Arg(0) {
	case "default":
		stdout.Write(config.Default())
		return 0
	case "check":
		if fs.NArg() != 2 {
			fs.Usage()
			return 2
		}
		return configCheck(fs.Arg(1), stdout, stderr)
	}
	fs.Usage()
	return 2
}

// configCheck is `config check FILE`: what serve would refuse to start
// with, found before a restart.
func configCheck(path string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if probs := checkConfigFiles(cfg); len(probs) > 0 {
		for _, p := range probs {
			fmt.Fprintf(stderr, "config %s: %s\n", path, p)
		}
		return 1
	}
	// Build everything it asks for, without serving: lists and score
	// names are checked too.
	if _, _, err := buildEngine(cfg, newLogger("text", "error", stderr), true); err != nil {
		fmt.Fprintf(stderr, "config %s: %v\n", path, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return 0
}
