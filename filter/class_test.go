package filter

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"relayguard/scoring"
)

// TestMixedPolicyClassesSplitTheTransaction: over a real socket, the
// first accepted recipient fixes the transaction's class; a recipient of
// another class gets 452 4.5.3 and is not passed upstream; recipients of
// the same class are taken. The message scores 10: relayed (marked) for
// the default class (reject 15), refused for the forwarding class
// (reject 8) when it comes first.
func TestMixedPolicyClassesSplitTheTransaction(t *testing.T) {
	strict := scoring.DefaultPolicy()
	strict.Reject, strict.AddHeader = 8, 4
	spammy := scoring.CheckFunc{CheckName: "content", CheckPhase: scoring.PhaseData, Fn: func(context.Context, *scoring.Input) scoring.Result {
		return scoring.Result{Symbols: []scoring.Symbol{{Name: "SPAMMY", Score: 10}}}
	}}
	engine, err := scoring.NewEngine(scoring.Options{Policy: scoring.DefaultPolicy(), Timeout: 5 * time.Second,
		Checks: []scoring.Check{spammy},
		Classify: func(rcpt string) (string, scoring.Policy) {
			if strings.HasPrefix(rcpt, "fwd") {
				return "forwarding", strict
			}
			return "", scoring.DefaultPolicy()
		}})
	if err != nil {
		t.Fatal(err)
	}
	up := &fakeUpstream{}
	c := dial(t, startEngineServer(t, defaultTestOptions(), engine, up, discardLog()).addr)
	c.hello()

	c.envelope("a@example.org", "user@local.example")
	c.send("RCPT TO:<fwd1@local.example>")
	c.expect(452, "4.5.3 Recipients with a different filtering policy must be sent in a separate transaction; try again")
	c.send("RCPT TO:<other@local.example>")
	c.expect(250, "")
	c.sendMessage(ham)
	c.expect(250, "queued as ABC")

	c.envelope("a@example.org", "fwd1@local.example")
	c.send("RCPT TO:<user@local.example>")
	c.expect(452, "4.5.3")
	c.send("RCPT TO:<fwd2@local.example>")
	c.expect(250, "")
	c.sendMessage(ham)
	c.expect(554, "reject threshold 8.0")

	got := up.messages()
	if len(got) != 1 || !slices.Equal(got[0].rcpts, []string{"user@local.example", "other@local.example"}) {
		t.Fatalf("upstream got %+v, want one message to the default-class recipients", got)
	}
	if !strings.Contains(got[0].data, "X-Spam-Status: Yes, score=10.0") {
		t.Errorf("default-class message not marked:\n%s", got[0].data)
	}
}

// TestBlockedRecipientRefusedAlone: a recipient the operator blocks gets
// 550 5.7.1 at RCPT with the reason, and the message still goes to the
// others of the transaction (before, its +100 refused the whole message
// at end of DATA, for every recipient).
func TestBlockedRecipientRefusedAlone(t *testing.T) {
	engine, err := scoring.NewEngine(scoring.Options{Policy: scoring.DefaultPolicy(), Timeout: 5 * time.Second,
		RefuseRcpt: func(rcpt string) (scoring.Symbol, bool) {
			if strings.HasPrefix(rcpt, "gone@") {
				return scoring.Symbol{Name: "BLOCK_RCPT", Score: 100, Detail: "recipient " + rcpt + " is on the local block list (gone@local.example)"}, true
			}
			return scoring.Symbol{}, false
		}})
	if err != nil {
		t.Fatal(err)
	}
	up := &fakeUpstream{}
	c := dial(t, startEngineServer(t, defaultTestOptions(), engine, up, discardLog()).addr)
	c.hello()
	c.envelope("a@example.org", "user@local.example")
	c.send("RCPT TO:<gone@local.example>")
	c.expect(550, "5.7.1 recipient gone@local.example is on the local block list (gone@local.example) (ref ")
	c.sendMessage(ham)
	c.expect(250, "queued as ABC")
	got := up.messages()
	if len(got) != 1 || !slices.Equal(got[0].rcpts, []string{"user@local.example"}) {
		t.Fatalf("upstream got %+v, want the message for user@ only", got)
	}
}
