package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"relayguard/config"
	"relayguard/rules"
)

const rulesUsage = `Usage:
  relayguard rules default            print the built-in rule file (TOML, commented):
                                      the heuristics, patterns and phrase lists with
                                      their scores; copy from it into your own file
  relayguard rules list [-config FILE] [FILE...]
                                      list every rule in force (name, score,
                                      description): the built-in rules, then the
                                      config's rules.files, then FILE...
  relayguard rules lint FILE...       check rule files as the proxy would load them;
                                      prints file:line for each problem, exit
                                      status 1 if any is an error
  relayguard rules fit -ham [SET=]PATH -spam [SET=]PATH ...
                                      fit every rule's score to labelled mail
                                      (check --json output or folders) and
                                      print them as a [scores] table, with the
                                      accuracy before and after

Rule files add rules ([[rule]] tables), replace built-in ones (same name) and
change scores ([scores] NAME = 0 turns a rule off). Patterns are RE2 (Go regexp).
`

// runRules is `relayguard rules`.
func runRules(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, rulesUsage)
		return 2
	}
	switch args[0] {
	case "default":
		return rulesDefault(args[1:], stdout, stderr)
	case "list":
		return rulesList(args[1:], stdout, stderr)
	case "lint":
		return rulesLint(args[1:], stdout, stderr)
	case "fit":
		return rulesFit(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, rulesUsage)
		return 0
	}
	fmt.Fprintf(stderr, "relayguard rules: unknown subcommand %q\n\n%s", args[0], rulesUsage)
	return 2
}

func newRulesFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fl := flag.NewFlagSet("rules "+name, flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprint(stderr, usage)
		fl.PrintDefaults()
	}
	return fl
}

func rulesDefault(args []string, stdout, stderr io.Writer) int {
	fl := newRulesFlags("default", "Usage: relayguard rules default\n\nPrints the built-in rule file.\n", stderr)
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() > 0 {
		fl.Usage()
		return 2
	}
	if _, err := stdout.Write(rules.DefaultRules()); err != nil {
		return 1
	}
	return 0
}

func rulesList(args []string, stdout, stderr io.Writer) int {
	fl := newRulesFlags("list", `Usage: relayguard rules list [-config FILE] [FILE...]

Lists every rule in force: name, score (0 = off), kind and description.

`, stderr)
	cfgPath := fl.String("config", "", "configuration `file` whose rules.files are loaded (default: embedded, no files)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	files := append(append([]string(nil), cfg.Rules.Files...), fl.Args()...)
	rs, err := rules.Load(files, rules.Options{MaxScanBytes: cfg.Rules.MaxScanBytes})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCORE\tKIND\tDESCRIPTION")
	for _, r := range rs.Rules() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, formatScore(r.Score), r.Kind, r.Description)
	}
	if err := tw.Flush(); err != nil {
		return 1
	}
	return 0
}

func formatScore(s float64) string {
	if s == 0 {
		return "off"
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", s), "0"), ".")
}

func rulesLint(args []string, stdout, stderr io.Writer) int {
	fl := newRulesFlags("lint", `Usage: relayguard rules lint FILE...

Checks rule files as the proxy loads them (after the built-in rules, in the
order given). Prints each problem as file:line: message. Exit status 1 if
any is an error, 0 if the files load (warnings included).

`, stderr)
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() == 0 {
		fl.Usage()
		return 2
	}
	probs := rules.Lint(fl.Args(), rules.Options{KnownSymbols: senderSymbols()})
	errs := 0
	for _, p := range probs {
		if !p.Warning {
			errs++
		}
		fmt.Fprintln(stdout, p.String())
	}
	if errs > 0 {
		fmt.Fprintf(stderr, "%d error(s)\n", errs)
		return 1
	}
	if len(probs) == 0 {
		fmt.Fprintf(stdout, "%s: ok\n", strings.Join(fl.Args(), ", "))
	}
	return 0
}
