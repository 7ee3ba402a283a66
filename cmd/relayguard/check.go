package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"

	"relayguard/config"
	"relayguard/rules/message"
	"relayguard/scoring"
)

type checkFlags struct {
	ip, helo, from, rcpt string
	json, local          bool
	exitCode             bool
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
	fl.BoolVar(&f.exitCode, "exit-code", false, "exit 1 when a message is spam, 2 on errors (like spamassassin -e)")
	fl.IntVar(&f.jobs, "j", runtime.GOMAXPROCS(0), "messages scored in parallel")
	fl.StringVar(&f.config, "config", "", "configuration `file` (thresholds, rules, lists); default: embedded")
	fl.StringVar(&f.cpuprofile, "cpuprofile", "", "write a CPU profile to `file` (for tuning rules)")
	fl.Usage = func() {
		fmt.Fprint(stderr, `Usage: relayguard check [flags] FILE|DIR|-...

Scores messages offline with the same engine as the proxy and prints, for
each, the score, the action and every rule that fired with the text that
matched. DIR is read recursively, following symbolic links (a link back to
a folder already read is skipped); - or /dev/stdin is the message on
standard input.

Exit status: 0 if every message was read and scored, 1 if an argument or
message could not be read (each is named on stderr).
With --exit-code, like spamassassin -e: 0 every message is ham, 1 at least
one is spam (its action is add_header or reject: it reached
scoring.add_header, the threshold X-Spam-Flag marks), 2 an argument or
message could not be read or judged (tempfail), whatever the others were.

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
	files, unreadable := listInputs(fl.Args(), stderr)
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
		for _, r := range strings.Split(f.rcpt, ",") {
			if sym, refused := engine.RefusedRcpt(r); refused {
				// The session refuses it at RCPT, before any message.
				fmt.Fprintf(stderr, "relayguard: recipient %s refused at RCPT (550 5.7.1): %s [%s]\n", r, sym.Detail, sym.Name)
				continue
			}
			rcpts = append(rcpts, r)
		}
	}
	spam, undecided := 0, 0
	failed := scoreFiles(files, max(f.jobs, 1), func(path string) (*scoring.Verdict, error) {
		return scoreFile(engine, conn, f.from, rcpts, path, message.Options{MaxScanBytes: cfg.Rules.MaxScanBytes})
	}, func(path string, v *scoring.Verdict, err error) {
		if err != nil {
			fmt.Fprintf(stderr, "relayguard: %s: %s\n", path, plainFileError(err))
			return
		}
		switch v.Action {
		case scoring.ActionAddHeader, scoring.ActionReject:
			spam++
		case scoring.ActionTempfail:
			undecided++
		}
		if f.json {
			writeJSON(stdout, path, v)
		} else {
			writeReport(stdout, path, v)
		}
	})
	return checkExitStatus(f.exitCode, failed+unreadable, undecided, spam)
}

// checkExitStatus is check's exit status (see its usage text). An error
// outweighs spam under --exit-code: a run that could not read everything
// must not pass for a clean one or a plain "spam found".
func checkExitStatus(exitCode bool, errors, undecided, spam int) int {
	switch {
	case !exitCode && errors > 0:
		return 1
	case !exitCode:
		return 0
	case errors > 0 || undecided > 0:
		return 2
	case spam > 0:
		return 1
	}
	return 0
}

// isStdin reports whether an argument means standard input: "-" as for
// spamassassin, or /dev/stdin, read through os.Stdin like "-" (opening it
// anew reads fd 0 in a way a caller that set os.Stdin would not expect).
func isStdin(arg string) bool { return arg == "-" || arg == "/dev/stdin" }

// listInputs expands the arguments into the messages to score, in order:
// "-" as itself, a file (or /dev/stdin, a pipe) as itself, a directory as
// every regular file below it, sorted, following symbolic links. Each
// argument that cannot be read is named on stderr and counted.
func listInputs(args []string, stderr io.Writer) (files []string, unreadable int) {
	report := func(path string, err error) {
		fmt.Fprintf(stderr, "relayguard: %s: %s\n", path, plainFileError(err))
		unreadable++
	}
	seen := map[string]bool{} // directories read, by real path
	for _, a := range args {
		if isStdin(a) {
			files = append(files, a)
			continue
		}
		st, err := os.Stat(a) // follows symlinks
		if err != nil {
			report(a, err)
			continue
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		files = walkMessages(a, seen, files, report, stderr)
	}
	return files, unreadable
}

// walkMessages appends the regular files below dir to files, following
// symbolic links to files and directories. A directory is read once,
// whatever the links to it, so a link back up ends instead of looping.
func walkMessages(dir string, seen map[string]bool, files []string, report func(string, error), stderr io.Writer) []string {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		report(dir, err)
		return files
	}
	if seen[real] {
		fmt.Fprintf(stderr, "relayguard: %s: skipped, the folder %s is read already (a symbolic link loop?)\n", dir, real)
		return files
	}
	seen[real] = true
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		report(dir, err)
		return files
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		mode := e.Type()
		if mode&fs.ModeSymlink != 0 {
			st, err := os.Stat(p)
			if err != nil {
				report(p, err)
				continue
			}
			mode = st.Mode().Type()
		}
		switch {
		case mode.IsDir():
			files = walkMessages(p, seen, files, report, stderr)
		case mode.IsRegular():
			files = append(files, p)
		}
		// Sockets, pipes and devices inside a folder are not messages.
	}
	return files
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

func scoreFile(engine *scoring.Engine, conn scoring.Conn, from string, rcpts []string, path string, opts message.Options) (*scoring.Verdict, error) {
	raw, size, closeRaw, err := openMessage(path)
	if err != nil {
		return nil, err
	}
	defer closeRaw()
	msg := message.ParseMessageOptions(raw, size, opts)
	v := engine.Score(conn, from, rcpts, msg)
	return &v, nil
}

// openMessage gives random access to a message: a regular file is read in
// place; standard input, a pipe or a device (/dev/stdin) is read into
// memory first, as it can be read only once and has no size.
func openMessage(path string) (raw io.ReaderAt, size int64, closeRaw func() error, err error) {
	if isStdin(path) {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("reading standard input: %w", err)
		}
		return bytes.NewReader(b), int64(len(b)), func() error { return nil }, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, nil, err
	}
	if st.Mode().IsRegular() {
		return f, st.Size(), f.Close, nil
	}
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return nil, 0, nil, err
	}
	return bytes.NewReader(b), int64(len(b)), func() error { return nil }, nil
}

// checkJSON is the one-line JSON contract of DESIGN.md.
type checkJSON struct {
	File    string         `json:"file"`
	Score   jsonScore      `json:"score"`
	Action  scoring.Action `json:"action"`
	Symbols []jsonSymbol   `json:"symbols"`
	Failed  []string       `json:"failed,omitempty"`
}

// jsonSymbol is a scoring.Symbol with its score rounded for JSON.
type jsonSymbol struct {
	Name   string    `json:"name"`
	Score  jsonScore `json:"score"`
	Detail string    `json:"detail,omitempty"`
}

// jsonScore is a score written with at most 2 decimals: sums of scores
// like 1.1+2.2 carry binary float noise (3.3000000000000003) that means
// nothing to a reader and breaks comparisons in scripts (jq '.score == 3.3').
type jsonScore float64

func (s jsonScore) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, math.Round(float64(s)*100)/100, 'f', -1, 64), nil
}

func writeJSON(w io.Writer, path string, v *scoring.Verdict) {
	syms := make([]jsonSymbol, 0, len(v.Symbols))
	for _, s := range v.Symbols {
		syms = append(syms, jsonSymbol{Name: s.Name, Score: jsonScore(s.Score), Detail: s.Detail})
	}
	b, err := json.Marshal(checkJSON{File: path, Score: jsonScore(v.Score), Action: v.Action, Symbols: syms, Failed: v.Failed})
	if err != nil {
		// Only strings and finite numbers go in: a failure is a defect.
		fmt.Fprintf(w, "{\"file\":%q,\"error\":%q}\n", path, err.Error())
		return
	}
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
