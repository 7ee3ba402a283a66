package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"relayguard/internal/mailaddr"
	"relayguard/scoring"
)

const logUsage = `Usage: relayguard log [flags] [FILE|-]...

Shows verdicts from relayguard's JSON log (log.format = "json"), one block
per message: when, the reference the client was told, the client, sender,
recipients, action, score, every symbol with its detail, and the reply.
Reads the files named (gzip-compressed ones too, as logrotate leaves them),
or standard input when none or "-" is given. Filters combine with AND.

  relayguard log --ref NB5SF2SLOS5Z /var/log/relayguard.json
  relayguard log --from example.net --to bob@example.com --action reject \
      --since 2026-11-24 --until 2026-11-24 /var/log/relayguard.json*
  journalctl -u relayguard -o cat | relayguard log --ip 203.0.113.7

--from and --to take an address (exact, case-insensitive) or a domain
(that domain and its subdomains). --since and --until take a date
(YYYY-MM-DD, local time; --until includes that whole day) or an RFC 3339
time. Exit status: 0 when something matched, 1 when nothing did, 2 on a
usage error or an unreadable file.

`

// logEntry is a message's log line (filter/log.go).
type logEntry struct {
	Time         time.Time        `json:"time"`
	Msg          string           `json:"msg"`
	Session      string           `json:"session"`
	IP           string           `json:"ip"`
	Helo         string           `json:"helo"`
	From         string           `json:"from"`
	Rcpts        []string         `json:"rcpts"`
	User         string           `json:"user"`
	Size         int64            `json:"size"`
	Score        float64          `json:"score"`
	Action       string           `json:"action"`
	Symbols      string           `json:"symbols"`
	Details      []scoring.Symbol `json:"details"`
	Reply        string           `json:"reply"`
	WouldReject  bool             `json:"would_reject"`
	FailedChecks []string         `json:"failed_checks"`
}

// logFilter is what the flags ask for; zero fields match everything.
type logFilter struct {
	ref, from, to, action string
	ip                    netip.Prefix
	since, until          time.Time
}

func runLog(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("log", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f logFilter
	var ip, since, until string
	fs.StringVar(&f.ref, "ref", "", "the `reference` the client was told (the session id)")
	fs.StringVar(&f.from, "from", "", "sender `address or domain`")
	fs.StringVar(&f.to, "to", "", "a recipient's `address or domain`")
	fs.StringVar(&ip, "ip", "", "client `IP or CIDR`")
	fs.StringVar(&f.action, "action", "", "`action`: reject, tempfail, add_header or accept")
	fs.StringVar(&since, "since", "", "from this `date` (YYYY-MM-DD) or time (RFC 3339)")
	fs.StringVar(&until, "until", "", "up to this `date` (the whole day) or time")
	fs.Usage = func() {
		fmt.Fprint(stderr, logUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var err error
	if ip != "" {
		if f.ip, err = parseIPOrPrefix(ip); err != nil {
			fmt.Fprintln(stderr, "relayguard log: --ip:", err)
			return 2
		}
	}
	if f.since, err = parseWhen(since, false); err != nil {
		fmt.Fprintln(stderr, "relayguard log: --since:", err)
		return 2
	}
	if f.until, err = parseWhen(until, true); err != nil {
		fmt.Fprintln(stderr, "relayguard log: --until:", err)
		return 2
	}
	files := fs.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}
	var found, lines int
	for _, name := range files {
		n, m, err := scanLog(name, stdin, f, stdout)
		lines += n
		found += m
		if err != nil {
			fmt.Fprintln(stderr, "relayguard log:", err)
			return 2
		}
	}
	if found == 0 {
		if lines == 0 {
			fmt.Fprintln(stderr, "relayguard log: no message lines found: is log.format \"json\"?")
		}
		return 1
	}
	return 0
}

// scanLog prints the entries of one file that pass f; it returns how many
// message lines it read and how many it printed.
func scanLog(name string, stdin io.Reader, f logFilter, out io.Writer) (lines, found int, err error) {
	var r io.Reader = stdin
	if name != "-" {
		file, err := os.Open(name)
		if err != nil {
			return 0, 0, err
		}
		defer file.Close()
		r = file
	}
	br := bufio.NewReader(r)
	// Rotated logs are often gzip'd: told by their magic, not their name.
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", name, err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		// Cheap test first: most lines of a busy log are not verdicts.
		if !bytes.Contains(line, []byte(`"msg":"message"`)) {
			continue
		}
		var e logEntry
		if json.Unmarshal(line, &e) != nil || e.Msg != "message" {
			continue
		}
		lines++
		if f.match(&e) {
			found++
			printEntry(out, &e)
		}
	}
	if err := sc.Err(); err != nil {
		return lines, found, fmt.Errorf("%s: %w", name, err)
	}
	return lines, found, nil
}

func (f logFilter) match(e *logEntry) bool {
	switch {
	case f.ref != "" && !strings.EqualFold(f.ref, e.Session):
		return false
	case f.action != "" && f.action != e.Action:
		return false
	case f.from != "" && !addrMatches(f.from, e.From):
		return false
	case !f.since.IsZero() && e.Time.Before(f.since):
		return false
	case !f.until.IsZero() && !e.Time.Before(f.until):
		return false
	}
	if f.ip.IsValid() {
		ip, err := netip.ParseAddr(e.IP)
		if err != nil || !f.ip.Contains(ip.Unmap()) {
			return false
		}
	}
	if f.to != "" {
		for _, r := range e.Rcpts {
			if addrMatches(f.to, r) {
				return true
			}
		}
		return false
	}
	return true
}

// addrMatches: want is an address (the same, ignoring case) or a domain
// (the address's domain is it or below it).
func addrMatches(want, addr string) bool {
	if strings.Contains(want, "@") {
		return strings.EqualFold(want, addr)
	}
	d := strings.ToLower(mailaddr.Domain(addr))
	want = strings.ToLower(strings.TrimSuffix(want, "."))
	return d != "" && (d == want || strings.HasSuffix(d, "."+want))
}

func parseIPOrPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parseWhen reads a date (local midnight; for an end, the next one, so
// the day is included) or an RFC 3339 time.
func parseWhen(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("want YYYY-MM-DD or an RFC 3339 time like 2026-11-24T09:30:00Z")
	}
	return t, nil
}

func printEntry(w io.Writer, e *logEntry) {
	fmt.Fprintf(w, "%s  ref %s  %s  score %.1f", e.Time.Local().Format("2006-01-02 15:04:05 MST"), e.Session, e.Action, e.Score)
	if e.WouldReject {
		fmt.Fprint(w, "  (monitor mode: would have been rejected)")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  client   %s  helo %s\n", e.IP, e.Helo)
	if e.User != "" {
		fmt.Fprintf(w, "  user     %s\n", e.User)
	}
	fmt.Fprintf(w, "  from     <%s>\n", e.From)
	rcpts := make([]string, len(e.Rcpts))
	for i, r := range e.Rcpts {
		rcpts[i] = "<" + r + ">"
	}
	fmt.Fprintf(w, "  to       %s\n", strings.Join(rcpts, ", "))
	fmt.Fprintf(w, "  reply    %s\n", e.Reply)
	if len(e.FailedChecks) > 0 {
		fmt.Fprintf(w, "  failed   %s (judged without them)\n", strings.Join(e.FailedChecks, ", "))
	}
	switch {
	case len(e.Details) > 0:
		fmt.Fprintln(w, "  why")
		width := 0
		for _, s := range e.Details {
			width = max(width, len(s.Name))
		}
		for _, s := range e.Details {
			fmt.Fprintf(w, "    %-*s %6.1f  %s\n", width, s.Name, s.Score, s.Detail)
		}
	case e.Symbols != "":
		// A line from before the log carried details.
		fmt.Fprintf(w, "  why      %s\n", e.Symbols)
	}
	fmt.Fprintln(w)
}
