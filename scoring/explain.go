package scoring

import (
	"fmt"
	"strings"
	"unicode"
)

// summaryReasons is how many reasons explain = summary gives.
const summaryReasons = 3

// maxReasonLen keeps each reply line well under RFC 5321's 512-octet limit
// (§4.5.3.1.5) once the code and enhanced code are added.
const maxReasonLen = 200

// RejectLines is the text of the 554 5.7.1 reply for a rejected verdict,
// one entry per reply line. The first line gives the score and threshold,
// then the reasons (as many as explain allows), and the last line the
// reference an operator finds in the log.
func (v *Verdict) RejectLines(ref string) []string {
	lines := []string{fmt.Sprintf("Message rejected as spam: score %.1f, reject threshold %.1f", v.Score, v.Policy.Reject)}
	for _, s := range v.Reasons() {
		lines = append(lines, reasonLine(s))
	}
	return append(lines, fmt.Sprintf("Reference %s; if this is a mistake, contact the postmaster with this reference", ref))
}

// TempfailLines is the text of the 451 reply when checks could not finish.
func (v *Verdict) TempfailLines(ref string) []string {
	return []string{
		"Cannot verify the sender right now, please try again later",
		fmt.Sprintf("Reference %s", ref),
	}
}

// Reasons lists the symbols a rejected client is told about, heaviest first,
// as many as the policy's Explain setting allows. Only symbols that added to
// the score are reasons.
func (v *Verdict) Reasons() []Symbol {
	limit := 0
	switch v.Policy.Explain {
	case ExplainFull:
		limit = len(v.Symbols)
	case ExplainSummary:
		limit = summaryReasons
	}
	var out []Symbol
	for _, s := range v.Symbols {
		if len(out) >= limit {
			break
		}
		if s.Score > 0 {
			out = append(out, s)
		}
	}
	return out
}

func reasonLine(s Symbol) string {
	detail := s.Detail
	if detail == "" {
		detail = s.Name
	}
	return fmt.Sprintf("%s (%s %+.1f)", clean(detail, maxReasonLen), s.Name, s.Score)
}

// clean makes text safe for one SMTP reply or header line: control
// characters (CR, LF, NUL included) and runs of space fold into one space,
// non-ASCII becomes '?' (a client without SMTPUTF8 may not take 8-bit
// replies), and the result is cut to max bytes.
func clean(s string, max int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if r > unicode.MaxASCII {
			r = '?'
		}
		need := 1
		if space {
			need = 2
		}
		if b.Len()+need > max {
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// StatusHeader is the value of X-Spam-Status:
// "Yes, score=16.2, required=6.0, tests=DNSBL_ZEN,LINKS_MANY".
// required is the add_header threshold, the score from which a message is
// marked as spam.
func (v *Verdict) StatusHeader() string {
	yes := "No"
	if v.Spam() {
		yes = "Yes"
	}
	tests := strings.Join(symbolNames(v.Symbols), ",")
	if tests == "" {
		tests = "none"
	}
	return fmt.Sprintf("%s, score=%.1f, required=%.1f, tests=%s", yes, v.Score, v.Policy.AddHeader, tests)
}

// ScoreHeader is the value of X-Spam-Score.
func (v *Verdict) ScoreHeader() string { return fmt.Sprintf("%.1f", v.Score) }

// LogSymbols renders symbols compactly for the one-line log:
// "GTUBE(1000.0),DKIM_NONE(0.1)".
func (v *Verdict) LogSymbols() string {
	parts := make([]string, len(v.Symbols))
	for i, s := range v.Symbols {
		parts[i] = fmt.Sprintf("%s(%.1f)", s.Name, s.Score)
	}
	return strings.Join(parts, ",")
}
