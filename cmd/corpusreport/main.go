// Command corpusreport measures how well a filter separates a ham folder
// from a spam folder: detection and false-positive rates at the add_header
// and reject thresholds, and the detection at the thresholds that keep false
// positives at or below 0.1% and 1%.
//
// By default it runs `relayguard check --json --local` on both folders and
// reads its verdicts; it can also table saved check output, or any other
// filter's "NAME SCORE" lines (spamc -c, rspamc), so that relayguard,
// SpamAssassin and rspamd are measured the same way.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"relayguard/rules/fit"
	"strconv"
	"strings"
	"time"
)

const usage = `Usage: corpusreport [flags] HAM SPAM

Prints detection on SPAM and false positives on HAM at the add_header and
reject thresholds, and the detection at the thresholds that keep false
positives at or below 0.1% and 1% of HAM.

HAM and SPAM are folders of messages, scored with
"relayguard check --json --local" (the binary given by -relayguard). With
-input json they are files of saved "relayguard check --json" output; with
-input scores, files of "NAME SCORE" lines from another filter (the first
number after the name is the score: "ham/1.eml 7.3/5.0" reads as 7.3).

With -rules it scores HAM and SPAM folders with the content rules alone,
in-process (built-in rules, then any -rule-file), and prints the same
accuracy figures, each rule's hit rate in each folder and the
highest-scoring ham with what fired. -rules takes several HAM SPAM pairs
(one per era) and reports each on its own:
  corpusreport -rules old/ham old/spam modern/ham modern/spam

With -bayes it measures the classifier by 5-fold cross-validation within
each HAM SPAM pair (one per era) and across them (trained on one, tested on
the other), alone and added to the content rules, in-process:
  corpusreport -bayes old/ham old/spam modern/ham modern/spam

With -write-folds DIR it writes those folds instead of measuring: for the
N-th HAM SPAM pair, DIR/eraN/ham-K.txt and DIR/eraN/spam-K.txt (K = 0..4)
list the absolute paths of the messages in fold K, one a line, so other
filters are trained and tested on the same folds (scripts/peer-bayes.sh):
  corpusreport -write-folds /tmp/folds old/ham old/spam modern/ham modern/spam

Example:
  go build -o /tmp/relayguard ./cmd/relayguard
  go run ./cmd/corpusreport -relayguard /tmp/relayguard ../shared/corpus/ham ../shared/corpus/spam
  go run ./cmd/corpusreport -rules ../shared/corpus/modern/ham ../shared/corpus/modern/spam

Flags:
`

type options struct {
	relayguard string
	config     string
	network    bool
	jobs       int
	input      string
	addHeader  float64
	reject     float64
	name       string
	markdown   bool
	rules      bool
	ruleFiles  stringList
	top        int
	bayes      bool
	bigrams    bool
	writeFolds string
}

// stringList is a flag that may be given more than once.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fl := flag.NewFlagSet("corpusreport", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&o.relayguard, "relayguard", "relayguard", "relayguard `binary` to run check with")
	fl.StringVar(&o.config, "config", "", "configuration `file` passed to relayguard check")
	fl.BoolVar(&o.network, "network", false, "let relayguard check do network lookups (default: --local)")
	fl.IntVar(&o.jobs, "j", 0, "messages relayguard check scores in parallel (0: its default, all cores)")
	fl.StringVar(&o.input, "input", "dirs", "what HAM and SPAM are: `dirs`, json (saved check --json output) or scores (NAME SCORE lines)")
	fl.Float64Var(&o.addHeader, "add-header", 6, "add_header `threshold`")
	fl.Float64Var(&o.reject, "reject", 15, "reject `threshold`")
	fl.StringVar(&o.name, "name", "relayguard", "filter `name` for the table")
	fl.BoolVar(&o.markdown, "markdown", false, "print a markdown table row instead of the report")
	fl.BoolVar(&o.rules, "rules", false, "report each content rule's hits in HAM and SPAM folders (in-process, no relayguard binary)")
	fl.Var(&o.ruleFiles, "rule-file", "with -rules: a rule `file` loaded after the built-in rules (repeatable)")
	fl.IntVar(&o.top, "top", 20, "with -rules: how many of the highest-scoring ham to list")
	fl.BoolVar(&o.bayes, "bayes", false, "cross-validate the classifier on HAM SPAM pairs (one per era), alone and with the content rules, in-process")
	fl.BoolVar(&o.bigrams, "bigrams", false, "with -bayes: add sparse bigrams (OSB) to the classifier's tokens")
	fl.StringVar(&o.writeFolds, "write-folds", "", "write the -bayes cross-validation folds of HAM SPAM pairs as path lists under `DIR`, for other filters")
	fl.Usage = func() {
		fmt.Fprint(stderr, usage)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if o.writeFolds != "" {
		if fl.NArg() < 2 || fl.NArg()%2 != 0 {
			fl.Usage()
			return 2
		}
		if err := writeFolds(o.writeFolds, fl.Args()); err != nil {
			fmt.Fprintln(stderr, "corpusreport:", err)
			return 1
		}
		return 0
	}
	if o.bayes && fl.NArg() >= 2 && fl.NArg()%2 == 0 {
		if err := bayesReport(stdout, o, fl.Args()); err != nil {
			fmt.Fprintln(stderr, "corpusreport:", err)
			return 1
		}
		return 0
	}
	if o.rules && fl.NArg() >= 2 && fl.NArg()%2 == 0 {
		for i := 0; i < fl.NArg(); i += 2 {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			if err := ruleReport(stdout, o, fl.Arg(i), fl.Arg(i+1)); err != nil {
				fmt.Fprintln(stderr, "corpusreport:", err)
				return 1
			}
		}
		return 0
	}
	if fl.NArg() != 2 {
		fl.Usage()
		return 2
	}
	var ham, spam []float64
	var elapsed time.Duration
	var err error
	switch o.input {
	case "dirs":
		start := time.Now()
		if ham, err = runCheck(o, fl.Arg(0)); err == nil {
			spam, err = runCheck(o, fl.Arg(1))
		}
		elapsed = time.Since(start)
	case "json", "scores":
		if ham, err = readFile(fl.Arg(0), o.input); err == nil {
			spam, err = readFile(fl.Arg(1), o.input)
		}
	default:
		err = fmt.Errorf("-input %q: want dirs, json or scores", o.input)
	}
	if err != nil {
		fmt.Fprintln(stderr, "corpusreport:", err)
		return 1
	}
	if len(ham) == 0 || len(spam) == 0 {
		fmt.Fprintf(stderr, "corpusreport: %d ham and %d spam scores: need both\n", len(ham), len(spam))
		return 1
	}
	s := summarize(ham, spam, o.addHeader, o.reject)
	if o.markdown {
		fmt.Fprintln(stdout, s.markdownRow(o.name))
	} else {
		s.print(stdout, o.name)
	}
	if elapsed > 0 {
		n := len(ham) + len(spam)
		fmt.Fprintf(stdout, "scanned %d messages in %.2fs: %.0f messages/s\n", n, elapsed.Seconds(), float64(n)/elapsed.Seconds())
	}
	return 0
}

// runCheck scores one folder with relayguard check --json and returns the
// scores, one per message.
func runCheck(o options, dir string) ([]float64, error) {
	args := []string{"check", "--json"}
	if !o.network {
		args = append(args, "--local")
	}
	if o.config != "" {
		args = append(args, "-config", o.config)
	}
	if o.jobs > 0 {
		args = append(args, "-j", strconv.Itoa(o.jobs))
	}
	args = append(args, dir)
	cmd := exec.Command(o.relayguard, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", o.relayguard, err)
	}
	scores, rerr := readJSON(out)
	werr := cmd.Wait()
	if rerr != nil {
		return nil, rerr
	}
	if werr != nil {
		return nil, fmt.Errorf("%s check %s: %w", o.relayguard, dir, werr)
	}
	return scores, nil
}

func readFile(path, format string) ([]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if format == "json" {
		return readJSON(f)
	}
	return readScores(f)
}

// verdict is the part of a check --json line the report needs.
type verdict struct {
	File  string   `json:"file"`
	Score *float64 `json:"score"`
}

func readJSON(r io.Reader) ([]float64, error) {
	var scores []float64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var v verdict
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if v.Score == nil {
			return nil, fmt.Errorf("line %d: no score", n)
		}
		scores = append(scores, *v.Score)
	}
	return scores, sc.Err()
}

// readScores reads "NAME SCORE" lines; SCORE may be "7.3/5.0" (spamc -c).
func readScores(r io.Reader) ([]float64, error) {
	var scores []float64
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("line %d: want NAME SCORE", n)
		}
		num, _, _ := strings.Cut(f[1], "/")
		s, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: score %q: %w", n, f[1], err)
		}
		scores = append(scores, s)
	}
	return scores, sc.Err()
}

// summary is the accuracy of one filter on one corpus.
type summary struct {
	ham, spam         int
	addHeader, reject float64
	atAdd, atReject   rates
	fp01, fp1         rates // at the strictest thresholds keeping FP <= 0.1% and <= 1%
}

type rates struct {
	threshold float64
	detected  float64 // percent of spam at or above threshold
	fp        float64 // percent of ham at or above threshold
}

// summarize measures scores the way `relayguard rules fit` reports them
// (rules/fit.Measure), so both commands give one figure for one threshold.
func summarize(ham, spam []float64, addHeader, reject float64) summary {
	a := fit.Measure("", ham, spam, addHeader, reject)
	at := func(r fit.Rates) rates { return rates{threshold: r.Threshold, detected: r.Caught, fp: r.FP} }
	return summary{ham: a.Ham, spam: a.Spam, addHeader: addHeader, reject: reject,
		atAdd: at(a.AtAdd), atReject: at(a.AtReject), fp01: at(a.FP01), fp1: at(a.FP1)}
}

func pct(n, of int) float64 { return float64(n) * 100 / float64(of) }

func (s summary) print(w io.Writer, name string) {
	fmt.Fprintf(w, "%s on %d ham, %d spam\n", name, s.ham, s.spam)
	fmt.Fprintf(w, "  %-34s %9s %9s\n", "threshold", "spam", "ham (FP)")
	line := func(label string, r rates) {
		fmt.Fprintf(w, "  %-34s %8.1f%% %8.2f%%\n", label, r.detected, r.fp)
	}
	line(fmt.Sprintf("add_header (>= %g)", s.addHeader), s.atAdd)
	line(fmt.Sprintf("reject (>= %g)", s.reject), s.atReject)
	line(fmt.Sprintf("FP <= 0.1%% (>= %.2f)", s.fp01.threshold), s.fp01)
	line(fmt.Sprintf("FP <= 1%% (>= %.2f)", s.fp1.threshold), s.fp1)
}

// markdownRow is one row of the accuracy table in docs/rules.md.
func (s summary) markdownRow(name string) string {
	return fmt.Sprintf("| %s | %.1f%% / %.2f%% | %.1f%% / %.2f%% | %.1f%% (>= %.2f) | %.1f%% (>= %.2f) |",
		name, s.atAdd.detected, s.atAdd.fp, s.atReject.detected, s.atReject.fp,
		s.fp01.detected, s.fp01.threshold, s.fp1.detected, s.fp1.threshold)
}
