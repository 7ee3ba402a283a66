package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"relayguard/config"
	"relayguard/rules"
	"relayguard/rules/fit"
	"relayguard/rules/message"
	"relayguard/scoring"
)

const rulesFitUsage = `Usage: relayguard rules fit [flags] -ham [SET=]PATH -spam [SET=]PATH ...

Fits every content rule's score to labelled mail and prints the scores as a
rule file's [scores] table, headed by the accuracy before and after.

PATH is a file of "relayguard check --json" output, or a folder of
messages, which is scored here as "check --json --local" would. -ham and
-spam repeat: give each set (era) of mail its own pair, named SET= or, by
default, numbered in the order given ("set1" is the first -ham and the
first -spam). Every set and every class weighs the same in the fit.

The model is L2-regularised logistic regression on "symbol fired", the
regularisation chosen by k-fold cross-validation; the figures "after" are
on held-out folds. The regularisation pulls each score towards the score in
force (-toward-hand), so a rule the mail says little about keeps about its
score, and the mail moves the others as far as it supports. The log-odds are scaled so that the point where each
set's ham is at most -target-fp (0.1%) false positive scores add_header - 0.1; a score
with no symbols stays 0. Each fitted score is capped (-min, -max), a rule
whose score in force is positive stays >= 0 (and a negative one <= 0), and
pinned rules keep their score. Symbols that are not content rules (GTUBE,
the sender checks) are always pinned at the score they had. Symbols that
never fired are left out. See docs/rules.md, "Fitting scores".

Example:
  relayguard check --json --local ham/ > old-ham.json   # or give folders
  relayguard rules fit -ham old=old-ham.json -spam old=old-spam.json \
    -ham modern=modern/ham -spam modern=modern/spam > fitted.toml
  relayguard rules lint fitted.toml

`

// labelled is one -ham or -spam argument.
type labelled struct {
	set, path string
	spam      bool
}

type fitArgs struct {
	inputs []labelled
	keep   []string
}

func rulesFit(args []string, stdout, stderr io.Writer) int {
	var a fitArgs
	nHam, nSpam := 0, 0
	fl := newRulesFlags("fit", rulesFitUsage, stderr)
	fl.Func("ham", "`[SET=]PATH` of ham: check --json output or a folder (repeatable)", func(v string) error {
		nHam++
		a.inputs = append(a.inputs, parseLabelled(v, false, nHam))
		return nil
	})
	fl.Func("spam", "`[SET=]PATH` of spam: check --json output or a folder (repeatable)", func(v string) error {
		nSpam++
		a.inputs = append(a.inputs, parseLabelled(v, true, nSpam))
		return nil
	})
	fl.Func("keep", "pin the rule `NAME` at the score it has (repeatable)", func(v string) error {
		a.keep = append(a.keep, v)
		return nil
	})
	keepFile := fl.String("keep-file", "", "rule `file` whose [scores] are pinned, not refitted")
	cfgPath := fl.String("config", "", "configuration `file`: thresholds, rules.files, and the engine for folders")
	folds := fl.Int("folds", 5, "`k` of the k-fold cross-validation")
	minScore := fl.Float64("min", -5, "lowest fitted `score` of a rule")
	maxScore := fl.Float64("max", 10, "highest fitted `score` of a rule")
	seed := fl.Uint64("seed", 1, "`seed` of the fold assignment")
	targetFP := fl.Float64("target-fp", 0.001, "held-out false-positive `rate` (of the stricter set) that scores add_header - 0.1")
	keepOnScore := fl.Float64("keep-on", 0, "`score` for a rule whose fitted score is 0, so that it stays on as evidence (0: leave it at 0, which turns it off)")
	towardHand := fl.Bool("toward-hand", true, "centre the regularisation on the scores in force, not on 0: a rule the mail says little about keeps about its score")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() > 0 || nHam == 0 || nSpam == 0 {
		fl.Usage()
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	rs, err := rules.Load(cfg.Rules.Files, rules.Options{KnownSymbols: senderSymbols()})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	var examples []fit.Example
	var all []fit.Verdict
	var engine *scoring.Engine
	for _, in := range a.inputs {
		vs, err := readLabelled(in, cfg, &engine, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "relayguard:", err)
			return 1
		}
		examples = append(examples, fit.Examples(vs, in.set, in.spam)...)
		all = append(all, vs...)
	}
	hand := fit.HandScores(all)
	pinned, err := pinnedScores(a.keep, *keepFile, hand, rs)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	opts := fit.Options{
		Folds: *folds, Min: *minScore, Max: *maxScore,
		AddHeader: cfg.Scoring.AddHeader, Reject: cfg.Scoring.Reject,
		Hand: hand, Pinned: pinned, Seed: *seed, TargetFP: *targetFP, TowardHand: *towardHand, KeepOn: *keepOnScore,
	}
	res, err := fit.Fit(examples, opts)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	writeFitted(stdout, res, opts, contentRuleNames(rs))
	return 0
}

// parseLabelled reads "[SET=]PATH"; without SET= the set is "setN", N
// counting the -ham (or -spam) flags so far.
func parseLabelled(v string, spam bool, n int) labelled {
	if set, path, ok := strings.Cut(v, "="); ok && set != "" && !strings.ContainsAny(set, "/\\") {
		return labelled{set: set, path: path, spam: spam}
	}
	return labelled{set: fmt.Sprintf("set%d", n), path: v, spam: spam}
}

// readLabelled reads saved check --json output, or scores a folder of
// messages with the engine check --local builds (built once, on first use).
func readLabelled(in labelled, cfg *config.Config, engine **scoring.Engine, stderr io.Writer) ([]fit.Verdict, error) {
	st, err := os.Stat(in.path)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", in.path, plainFileError(err))
	}
	if !st.IsDir() {
		f, err := os.Open(in.path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return fit.ReadVerdicts(f, in.path)
	}
	if *engine == nil {
		if *engine, _, err = buildEngine(cfg, newLogger("text", "error", stderr), false); err != nil {
			return nil, err
		}
	}
	files, unreadable := listInputs([]string{in.path}, stderr)
	var out []fit.Verdict
	failed := scoreFiles(files, 2, func(path string) (*scoring.Verdict, error) {
		return scoreFile(*engine, scoring.Conn{SessionID: "fit"}, "", nil, path, message.Options{MaxScanBytes: cfg.Rules.MaxScanBytes})
	}, func(path string, v *scoring.Verdict, err error) {
		if err != nil {
			fmt.Fprintf(stderr, "relayguard: %s: %s\n", path, plainFileError(err))
			return
		}
		score := v.Score
		fv := fit.Verdict{File: path, Score: &score, Action: string(v.Action)}
		for _, s := range v.Symbols {
			fv.Symbols = append(fv.Symbols, fit.Symbol{Name: s.Name, Score: s.Score})
		}
		out = append(out, fv)
	})
	if failed+unreadable > 0 {
		return nil, fmt.Errorf("%s: %d message(s) could not be read", in.path, failed+unreadable)
	}
	return out, nil
}

// pinnedScores are the scores not refitted: -keep NAME at the score it
// has, -keep-file's [scores], and every symbol that is not a content rule.
func pinnedScores(keep []string, keepFile string, hand map[string]float64, rs *rules.Ruleset) (map[string]float64, error) {
	content := contentRuleNames(rs)
	current := map[string]float64{}
	for _, r := range rs.Rules() {
		current[r.Name] = r.Score
	}
	pinned := map[string]float64{}
	for n, s := range hand {
		if !content[n] {
			pinned[n] = s
		}
	}
	for _, n := range keep {
		s, ok := current[n]
		if !ok {
			s, ok = hand[n]
		}
		if !ok {
			return nil, fmt.Errorf("-keep %s: no rule and no symbol in the input has that name", n)
		}
		pinned[n] = s
	}
	if keepFile != "" {
		var f struct {
			Scores map[string]float64 `toml:"scores"`
		}
		if _, err := toml.DecodeFile(keepFile, &f); err != nil {
			return nil, fmt.Errorf("-keep-file %s: %w", keepFile, err)
		}
		for n, s := range f.Scores {
			pinned[n] = s
		}
	}
	return pinned, nil
}

func contentRuleNames(rs *rules.Ruleset) map[string]bool {
	m := map[string]bool{}
	for _, r := range rs.Rules() {
		m[r.Name] = true
	}
	return m
}

// writeFitted prints the fitted [scores] table headed by how it was fitted
// and the accuracy before and after, as comments.
func writeFitted(w io.Writer, r *fit.Result, o fit.Options, content map[string]bool) {
	fmt.Fprintf(w, "# Scores fitted by relayguard rules fit on %s.\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(w, "# L2-regularised logistic regression, lambda %g chosen by %d-fold cross-validation;\n", r.Lambda, o.Folds)
	fmt.Fprintf(w, "# %.3g points per unit of log-odds: held-out margin %.3g (the %g%% false-positive\n", r.Scale, r.Margin, 100*o.TargetFP)
	fmt.Fprintf(w, "# point of the stricter set) scores %.1f. Caps %g..%g; rules with a positive score stay >= 0.\n", o.AddHeader-0.1, o.Min, o.Max)
	fmt.Fprintln(w, "#")
	fmt.Fprintln(w, "# Accuracy per set; \"fitted\" is on held-out folds. Percent of spam caught at the")
	fmt.Fprintln(w, "# thresholds keeping ham <= 0.1% and <= 1% (threshold), and ham/spam at add_header and reject.")
	writeAccuracyTable(w, "# ", r.Before, r.After, o.AddHeader, o.Reject)
	var pins []string
	for n := range r.Pinned {
		pins = append(pins, n)
	}
	sort.Strings(pins)
	if len(pins) > 0 {
		fmt.Fprintf(w, "#\n# Pinned, not refitted: %s\n", strings.Join(pins, ", "))
	}
	names := make([]string, 0, len(r.Scores))
	for n := range r.Scores {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "\n[scores]")
	var other []string
	for _, n := range names {
		if !content[n] {
			other = append(other, n)
			continue
		}
		fmt.Fprintf(w, "%s = %s\n", n, formatFitted(r.Scores[n]))
	}
	if len(other) > 0 {
		fmt.Fprintln(w, "\n# Not content rules (set these under [scores] in the configuration):")
		for _, n := range other {
			fmt.Fprintf(w, "# %s = %s\n", n, formatFitted(r.Scores[n]))
		}
	}
}

func formatFitted(s float64) string { return fmt.Sprintf("%.1f", s) }

func writeAccuracyTable(w io.Writer, prefix string, before, after []fit.Accuracy, addHeader, reject float64) {
	fmt.Fprintf(w, "%s%-10s %-7s %6s %6s %17s %17s %13s %13s\n", prefix, "set", "scores", "ham", "spam",
		"spam@FP<=0.1%", "spam@FP<=1%", fmt.Sprintf("ham/spam>=%g", addHeader), fmt.Sprintf("ham/spam>=%g", reject))
	row := func(label string, a fit.Accuracy) {
		fmt.Fprintf(w, "%s%-10s %-7s %6d %6d %6.1f%% (>=%5.2f) %6.1f%% (>=%5.2f) %5.2f/%5.1f%% %5.2f/%5.1f%%\n", prefix, a.Set, label, a.Ham, a.Spam,
			a.FP01.Caught, a.FP01.Threshold, a.FP1.Caught, a.FP1.Threshold, a.AtAdd.FP, a.AtAdd.Caught, a.AtReject.FP, a.AtReject.Caught)
	}
	for i := range before {
		row("before", before[i])
		row("fitted", after[i])
	}
}
