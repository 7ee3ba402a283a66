package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"

	"relayguard/config"
	"relayguard/rules"
	"relayguard/scoring"
)

type checkFlags struct {
	ip, helo, from, rcpt string
	json, local          bool
	jobs                 int
	config, cpuprofile   string
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	var f checkFlags
	fl := flag.NewFlagSet("check", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&f.ip, "ip", "", "client `IP` the message came from (network checks judge it)")
	fl.StringVar(&f.helo, "helo", "", "HELO `name` the client gave")
	fl.StringVar(&f.from, "from", "", "envelope sender (MAIL FROM) `address`")
	fl.StringVar(&f.rcpt, "rcpt", "", "envelope recipient `address`es, comma-separated")
	fl.BoolVar(&f.json, "json", false, "print one JSON object per message, one per line")
	fl.BoolVar(&f.local, "local", false, "skip every network lookup (like spamassassin -L)")
	fl.IntVar(&f.jobs, "j", runtime.GOMAXPROCS(0), "messages scored in parallel")
	fl.StringVar(&f.config, "config", "", "configuration `file` (thresholds, rules, lists); default: embedded")
	fl.StringVar(&f.cpuprofile, "cpuprofile", "", "write a CPU profile to `file` (for tuning rules)")
	fl.Usage = func() {
		fmt.Fprint(stderr, `Usage: relayguard check [flags] FILE|DIR...

Scores messages offline with the same engine as the proxy and prints, for
each, the score, the action and every rule that fired with the text that
matched. DIR is read recursively. Exit status: 0 if every message was read.

`)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() == 0 {
		fl.Usage()
		return 2
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	conn := scoring.Conn{SessionID: "check", Helo: f.helo}
	if f.ip != "" {
		if conn.ClientIP, err = netip.ParseAddr(f.ip); err != nil {
			fmt.Fprintf(stderr, "relayguard: -ip: %v\n", err)
			return 2
		}
	}
	log := newLogger("text", "error", stderr)
	engine, _, err := buildEngine(cfg, log, !f.local)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	files, err := listFiles(fl.Args())
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	if os.Getenv("GOGC") == "" {
		// A batch over many small messages keeps a tiny heap, so the
		// default GC target collects every few messages; a larger target
		// costs little memory and makes a corpus run about 30% faster.
		debug.SetGCPercent(400)
	}
	if f.cpuprofile != "" {
		stop, err := startCPUProfile(f.cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "relayguard:", err)
			return 1
		}
		defer stop()
	}
	var rcpts []string
	if f.rcpt != "" {
		rcpts = strings.Split(f.rcpt, ",")
	}
	failed := scoreFiles(files, max(f.jobs, 1), func(path string) (*scoring.Verdict, error) {
		return scoreFile(engine, conn, f.from, rcpts, path, rules.Options{MaxScanBytes: cfg.Rules.MaxScanBytes})
	}, func(path string, v *scoring.Verdict, err error) {
		if err != nil {
			fmt.Fprintf(stderr, "relayguard: %s: %v\n", path, err)
			return
		}
		if f.json {
			writeJSON(stdout, path, v)
		} else {
			writeReport(stdout, path, v)
		}
	})
	if failed > 0 {
		return 1
	}
	return 0
}

// listFiles expands directories (recursively, sorted) into regular files.
func listFiles(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		err := filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// scoreFiles scores files on jobs workers and reports each result in the
// order of files, so output is stable whatever the parallelism.
func scoreFiles(files []string, jobs int, score func(string) (*scoring.Verdict, error), report func(string, *scoring.Verdict, error)) (failed int) {
	type result struct {
		v   *scoring.Verdict
		err error
	}
	results := make([]chan result, len(files))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				v, err := score(files[i])
				results[i] <- result{v, err}
			}
		}()
	}
	go func() {
		for i := range files {
			next <- i
		}
		close(next)
	}()
	for i, ch := range results {
		r := <-ch
		if r.err != nil {
			failed++
		}
		report(files[i], r.v, r.err)
	}
	wg.Wait()
	return failed
}

func scoreFile(engine *scoring.Engine, conn scoring.Conn, from string, rcpts []string, path string, opts rules.Options) (*scoring.Verdict, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	msg := rules.ParseMessageOptions(f, st.Size(), opts)
	v := engine.Score(conn, from, rcpts, msg)
	return &v, nil
}

// checkJSON is the one-line JSON contract of DESIGN.md.
type checkJSON struct {
	File    string           `json:"file"`
	Score   float64          `json:"score"`
	Action  scoring.Action   `json:"action"`
	Symbols []scoring.Symbol `json:"symbols"`
	Failed  []string         `json:"failed,omitempty"`
}

func writeJSON(w io.Writer, path string, v *scoring.Verdict) {
	syms := v.Symbols
	if syms == nil {
		syms = []scoring.Symbol{}
	}
	b, _ := json.Marshal(checkJSON{File: path, Score: v.Score, Action: v.Action, Symbols: syms, Failed: v.Failed})
	fmt.Fprintf(w, "%s\n", b)
}

// writeReport prints a verdict the way spamassassin -t does: the total,
// then a table of what fired.
func writeReport(w io.Writer, path string, v *scoring.Verdict) {
	fmt.Fprintf(w, "%s\n", path)
	fmt.Fprintf(w, "  score %.1f (add_header %.1f, reject %.1f): %s\n", v.Score, v.Policy.AddHeader, v.Policy.Reject, v.Action)
	if len(v.Failed) > 0 {
		fmt.Fprintf(w, "  checks that could not finish: %s\n", strings.Join(v.Failed, ", "))
	}
	if len(v.Symbols) > 0 {
		fmt.Fprintf(w, "  %7s  %-24s %s\n", "pts", "rule", "description")
		for _, s := range v.Symbols {
			fmt.Fprintf(w, "  %7.1f  %-24s %s\n", s.Score, s.Name, s.Detail)
		}
	}
	fmt.Fprintln(w)
}

// startCPUProfile profiles the process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
