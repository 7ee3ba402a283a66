package scoring

import (
	"strings"
	"testing"
	"time"
)

// TestTransactionJudgedByItsFirstRecipientsClass: a message scoring 10
// is accepted as spam under the default policy (reject 15) and rejected
// when the transaction's first recipient is in a class that rejects at 8;
// RSET forgets the class.
func TestTransactionJudgedByItsFirstRecipientsClass(t *testing.T) {
	strict := DefaultPolicy()
	strict.Reject, strict.AddHeader = 8, 4
	e, err := NewEngine(Options{Policy: DefaultPolicy(), Timeout: time.Second,
		Checks: []Check{fixed("content", PhaseData, Symbol{Name: "SPAMMY", Score: 10})},
		Classify: func(rcpt string) (string, Policy) {
			if strings.HasPrefix(rcpt, "fwd@") {
				return "forwarding", strict
			}
			return "", DefaultPolicy()
		}})
	if err != nil {
		t.Fatal(err)
	}
	j := e.Begin(Conn{})
	defer j.Close()
	for _, tc := range []struct {
		rcpts  []string
		class  string
		action Action
	}{
		{[]string{"fwd@example.com", "bob@example.com"}, "forwarding", ActionReject},
		{[]string{"bob@example.com", "fwd@example.com"}, "", ActionAddHeader},
		{[]string{"fwd@example.com"}, "forwarding", ActionReject},
	} {
		j.Mail("a@b.example")
		if early := j.EarlyFor(tc.rcpts[0]); early.Class != tc.class {
			t.Errorf("%v: EarlyFor class %q, want %q", tc.rcpts, early.Class, tc.class)
		}
		for _, r := range tc.rcpts {
			j.Rcpt(r)
		}
		if j.Class() != tc.class || j.ClassOf("fwd@x") != "forwarding" {
			t.Errorf("%v: class %q, want %q", tc.rcpts, j.Class(), tc.class)
		}
		v := j.Finish(msgOf("\r\n"))
		if v.Action != tc.action || v.Class != tc.class {
			t.Errorf("%v: %s under class %q, want %s under %q", tc.rcpts, v.Action, v.Class, tc.action, tc.class)
		}
		j.Reset()
	}
}
