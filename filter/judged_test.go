package filter

import (
	"strings"
	"sync"
	"testing"

	"relayguard/scoring"
)

// TestOnJudgedSeesEveryMessageOfASession: the hook gets each judged
// message once, numbered within its session under the session's
// reference, with the 554 text the client heard, and the message still
// readable.
func TestOnJudgedSeesEveryMessageOfASession(t *testing.T) {
	var mu sync.Mutex
	var got []Judged
	var subjects []string
	opts := defaultTestOptions()
	opts.OnJudged = func(j *Judged) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, *j)
		subjects = append(subjects, j.Message.Header.Get("Subject"))
	}
	ts := startServer(t, opts, scoring.DefaultPolicy(), nil)
	c := dial(t, ts.addr)
	c.hello()
	c.envelope("a@example.org", "user@local.example")
	c.sendMessage("Subject: spam\n\n" + gtube + "\n")
	reply, _ := c.readReply()
	c.envelope("b@example.org", "user@local.example")
	c.sendMessage(ham)
	c.expect(250, "")

	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("hook called %d times, want 2", len(got))
	}
	if got[0].Ref == "" || got[0].Ref != got[1].Ref || got[0].Seq != 1 || got[1].Seq != 2 {
		t.Errorf("refs %q.%d and %q.%d, want one session's reference numbered 1 and 2", got[0].Ref, got[0].Seq, got[1].Ref, got[1].Seq)
	}
	if got[0].Verdict.Action != scoring.ActionReject || len(got[0].RejectLines) == 0 ||
		!strings.Contains(strings.Join(reply, "\n"), got[0].RejectLines[len(got[0].RejectLines)-1]) {
		t.Errorf("first: %s with 554 text %q; the client heard %q", got[0].Verdict.Action, got[0].RejectLines, reply)
	}
	if got[1].From != "b@example.org" || !strings.HasPrefix(got[1].Reply, "250 ") || got[1].RejectLines != nil {
		t.Errorf("second: from %q reply %q reject text %q", got[1].From, got[1].Reply, got[1].RejectLines)
	}
	if subjects[0] != "spam" {
		t.Errorf("the message was not readable in the hook: subject %q", subjects[0])
	}
}
