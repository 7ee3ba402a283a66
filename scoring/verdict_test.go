package scoring

import (
	"strings"
	"testing"
)

func TestDecide(t *testing.T) {
	enforce := DefaultPolicy()
	monitor := enforce
	monitor.Mode = ModeMonitor
	tempfail := enforce
	tempfail.TempfailOnError = true
	sym := func(score float64) []Symbol { return []Symbol{{Name: "S", Score: score}} }
	tests := []struct {
		name        string
		policy      Policy
		syms        []Symbol
		failed      []string
		want        Action
		wouldReject bool
	}{
		{"clean", enforce, nil, nil, ActionAccept, false},
		{"below add_header", enforce, sym(5.9), nil, ActionAccept, false},
		{"at add_header", enforce, sym(6), nil, ActionAddHeader, false},
		{"at reject", enforce, sym(15), nil, ActionReject, false},
		{"monitor spares reject", monitor, sym(1000), nil, ActionAddHeader, true},
		{"failed check, judge on what we have", enforce, sym(1), []string{"dnsbl"}, ActionAccept, false},
		{"failed check, tempfail asked", tempfail, sym(1), []string{"dnsbl"}, ActionTempfail, false},
		{"failed check but already spam enough", tempfail, sym(20), []string{"dnsbl"}, ActionReject, false},
		{"negative score", enforce, sym(-3), nil, ActionAccept, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := decide(tt.policy, tt.syms, nil, tt.failed)
			if v.Action != tt.want || v.WouldReject != tt.wouldReject {
				t.Errorf("action = %s (would reject %v), want %s (%v)", v.Action, v.WouldReject, tt.want, tt.wouldReject)
			}
		})
	}
}

func TestRejectLinesFollowExplain(t *testing.T) {
	syms := []Symbol{
		{Name: "DNSBL_ZEN", Score: 6, Detail: "203.0.113.7 listed on zen.spamhaus.org"},
		{Name: "LINKS_MANY", Score: 4, Detail: "14 links to 9 domains"},
		{Name: "PHRASE", Score: 3, Detail: "says \"act now\""},
		{Name: "HTML_ONLY", Score: 2.5, Detail: "HTML only, no text part"},
		{Name: "DKIM_VALID", Score: -0.5, Detail: "valid signature by example.org"},
	}
	tests := []struct {
		explain Explain
		reasons int
	}{{ExplainNone, 0}, {ExplainSummary, 3}, {ExplainFull, 4}}
	for _, tt := range tests {
		t.Run(string(tt.explain), func(t *testing.T) {
			p := DefaultPolicy()
			p.Explain = tt.explain
			v := decide(p, append([]Symbol(nil), syms...), nil, nil)
			lines := v.RejectLines("ABC123")
			if len(lines) != tt.reasons+2 {
				t.Fatalf("%d lines, want %d reasons + 2:\n%s", len(lines), tt.reasons, strings.Join(lines, "\n"))
			}
			if lines[0] != "Message rejected as spam: score 15.0, reject threshold 15.0" {
				t.Errorf("first line = %q", lines[0])
			}
			if !strings.Contains(lines[len(lines)-1], "ABC123") {
				t.Errorf("last line lacks the reference: %q", lines[len(lines)-1])
			}
			if tt.reasons > 0 && lines[1] != "203.0.113.7 listed on zen.spamhaus.org (DNSBL_ZEN +6.0)" {
				t.Errorf("first reason = %q", lines[1])
			}
			for _, l := range lines {
				if strings.Contains(l, "DKIM_VALID") {
					t.Errorf("a symbol that lowered the score is given as a reason: %q", l)
				}
			}
		})
	}
}

func TestReasonTextIsSafeOnTheWire(t *testing.T) {
	v := decide(Policy{Reject: 1, AddHeader: 1, Mode: ModeEnforce, Explain: ExplainFull},
		[]Symbol{{Name: "X", Score: 5, Detail: "bad\r\n250 OK injected\x00 tab\there ünïcode " + strings.Repeat("y", 400)}}, nil, nil)
	line := v.RejectLines("R")[1]
	if strings.ContainsAny(line, "\r\n\x00\t") {
		t.Errorf("control characters reach the reply: %q", line)
	}
	if strings.ContainsFunc(line, func(r rune) bool { return r > 127 }) {
		t.Errorf("non-ASCII reaches the reply: %q", line)
	}
	if len(line) > 300 {
		t.Errorf("reply line is %d bytes", len(line))
	}
	if !strings.HasPrefix(line, "bad 250 OK injected tab here ?n?code yyy") {
		t.Errorf("line = %q", line[:60])
	}
}

func TestStatusHeader(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		syms []Symbol
		want string
	}{
		{nil, "No, score=0.0, required=6.0, tests=none"},
		{[]Symbol{{Name: "B", Score: 2}, {Name: "A", Score: 5}}, "Yes, score=7.0, required=6.0, tests=A,B"},
		{[]Symbol{{Name: "GTUBE", Score: 1000}}, "Yes, score=1000.0, required=6.0, tests=GTUBE"},
	}
	for _, tt := range tests {
		v := decide(p, tt.syms, nil, nil)
		if got := v.StatusHeader(); got != tt.want {
			t.Errorf("StatusHeader = %q, want %q", got, tt.want)
		}
	}
}

func TestGTUBE(t *testing.T) {
	e := newTestEngine(t, 1e9, GTUBE{})
	// The string straddles the 64 KiB read boundary: found all the same.
	body := strings.Repeat("a", 64<<10-20) + gtubeString + "\r\n"
	for name, m := range map[string]string{
		"plain":    "Subject: test\r\n\r\n" + gtubeString + "\r\n",
		"boundary": "Subject: test\r\n\r\n" + body,
	} {
		if v := e.Score(Conn{}, "", nil, msgOf(m)); v.Score != GTUBEScore || v.Action != ActionReject {
			t.Errorf("%s: verdict = %+v", name, v)
		}
	}
	// In the header only, it is not the body test string.
	if v := e.Score(Conn{}, "", nil, msgOf("Subject: "+gtubeString+"\r\n\r\nhello\r\n")); v.Score != 0 {
		t.Errorf("GTUBE in the Subject scored %v", v.Score)
	}
}
