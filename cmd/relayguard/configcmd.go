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
  relayguard config check FILE    load FILE and report the first error, with its line
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
		cfg, err := config.Load(fs.Arg(1))
		if err == nil {
			// Build everything it asks for, without serving: rule files,
			// lists and score names are checked too.
			_, _, err = buildEngine(cfg, newLogger("text", "error", stderr), true)
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: ok\n", fs.Arg(1))
		return 0
	}
	fs.Usage()
	return 2
}
