package classes

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"relayguard/internal/mailaddr"
)

// Alias is one entry of an aliases file: a local part and its targets.
type Alias struct {
	Local   string
	Targets []string
}

// maxAliasLine bounds one logical entry (continuations joined): a
// runaway file must not take the process's memory.
const maxAliasLine = 1 << 20

// ParseAliases reads an Exim-style aliases file (Exim's lsearch, as
// /etc/aliases): "localpart: target, target", # comment lines, blank
// lines, and lines starting with white space continuing the entry above.
// Targets are addresses, local parts, "|command", "/file", or Exim's
// :include:, :fail:, :defer:, :blackhole: items; a target may be quoted
// ("|/usr/bin/prog arg, arg"), and a comma inside quotes does not split.
func ParseAliases(r io.Reader, name string) ([]Alias, error) {
	var out []Alias
	var cur strings.Builder
	start := 0
	flush := func() error {
		if cur.Len() == 0 {
			return nil
		}
		a, err := parseAlias(cur.String())
		cur.Reset()
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, start, err)
		}
		out = append(out, a)
		return nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxAliasLine)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur.Len() == 0 {
				return nil, fmt.Errorf("%s:%d: continuation line with no entry above", name, n)
			}
			if cur.Len()+len(trimmed) > maxAliasLine {
				return nil, fmt.Errorf("%s:%d: entry too long", name, start)
			}
			cur.WriteByte(' ')
			cur.WriteString(trimmed)
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		start = n
		cur.WriteString(trimmed)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

func parseAlias(s string) (Alias, error) {
	key, rest, ok := strings.Cut(s, ":")
	key = strings.Trim(strings.TrimSpace(key), `"`)
	if !ok || key == "" || strings.ContainsAny(key, " \t,") {
		return Alias{}, fmt.Errorf("want \"localpart: targets\", got %q", clipText(s))
	}
	a := Alias{Local: strings.ToLower(key)}
	for _, t := range splitTargets(rest) {
		if t = strings.TrimSpace(t); t != "" {
			a.Targets = append(a.Targets, unquote(t))
		}
	}
	return a, nil
}

// splitTargets splits at commas outside double quotes.
func splitTargets(s string) []string {
	var out []string
	quoted, from := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // an escaped character never splits nor quotes
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, s[from:i])
				from = i + 1
			}
		}
	}
	return append(out, s[min(from, len(s)):])
}

func unquote(t string) string {
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		return t[1 : len(t)-1]
	}
	return t
}

func clipText(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// OffSite lists the local parts whose mail leaves for another site: a
// target that is an address outside localDomains, directly or through
// other entries of the file (bob: alice, alice: a@gmail.example). Pipes,
// files and Exim's :items: deliver here (or nowhere) and do not count;
// :include: files are not read.
func OffSite(aliases []Alias, localDomains []string) []string {
	byLocal := map[string][]string{}
	for _, a := range aliases {
		byLocal[a.Local] = append(byLocal[a.Local], a.Targets...)
	}
	local := map[string]bool{}
	for _, d := range localDomains {
		local[d] = true
	}
	// A walk per entry, without memory between walks: a result found
	// while a loop was cut short holds only for that walk's start.
	var forwards func(name string, seen map[string]bool) bool
	forwards = func(name string, seen map[string]bool) bool {
		if seen[name] {
			return false // a loop: Exim refuses it; it reaches nowhere else
		}
		seen[name] = true
		result := false
		for _, t := range byLocal[name] {
			if strings.HasPrefix(t, "|") || strings.HasPrefix(t, "/") || strings.HasPrefix(t, ":") {
				continue
			}
			t = strings.TrimPrefix(strings.TrimSuffix(t, ">"), "<")
			l, d, isAddr := mailaddr.Split(t)
			if !isAddr {
				if forwards(strings.ToLower(t), seen) {
					result = true
				}
				continue
			}
			nd := mailaddr.Normalize(d)
			if nd == "" {
				continue // not deliverable anywhere
			}
			if !local[nd] {
				result = true
			} else if forwards(strings.ToLower(l), seen) {
				result = true
			}
		}
		return result
	}
	var out []string
	seen := map[string]bool{}
	for _, a := range aliases {
		if !seen[a.Local] && forwards(a.Local, map[string]bool{}) {
			out = append(out, a.Local)
		}
		seen[a.Local] = true
	}
	return out
}
