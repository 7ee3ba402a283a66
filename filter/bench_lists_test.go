package filter

import (
	"fmt"
	"testing"
	"time"

	"relayguard/scoring"
	"relayguard/scoring/classes"
	"relayguard/scoring/lists"
)

// BenchmarkRelayMessageListsAndPolicy is BenchmarkRelayMessage with
// allow and block lists of 1,000 entries each and 200 policy-class
// entries, none matching the message: what the lists and the class
// lookup add per message (compare the two in one run).
func BenchmarkRelayMessageListsAndPolicy(b *testing.B) {
	var o lists.Options
	for i := range 1000 {
		o.BlockIPs = append(o.BlockIPs, fmt.Sprintf("10.%d.%d.0/24", i/250, i%250))
		o.AllowSenders = append(o.AllowSenders, fmt.Sprintf("partner%d.example", i))
		o.BlockSenders = append(o.BlockSenders, fmt.Sprintf(".spam%d.example", i))
		o.BlockRecipients = append(o.BlockRecipients, fmt.Sprintf("old%d@local.example", i))
	}
	ls, err := lists.New(o)
	if err != nil {
		b.Fatal(err)
	}
	strict := scoring.DefaultPolicy()
	strict.Reject = 8
	var fwd []string
	for i := range 200 {
		fwd = append(fwd, fmt.Sprintf("fwd%d@local.example", i))
	}
	tb, err := classes.New(classes.Options{Default: scoring.DefaultPolicy(), Forwarding: classes.Class{Recipients: fwd, Policy: strict}})
	if err != nil {
		b.Fatal(err)
	}
	engine, err := scoring.NewEngine(scoring.Options{Policy: scoring.DefaultPolicy(), Timeout: 5 * time.Second,
		Checks: append(ls.Checks(), scoring.GTUBE{}), Classify: tb.Lookup, RefuseRcpt: ls.RefuseRcpt})
	if err != nil {
		b.Fatal(err)
	}
	up := &fakeUpstream{discard: true}
	relayLoop(b, startEngineServer(b, defaultTestOptions(), engine, up, discardLog()).addr, up)
}
