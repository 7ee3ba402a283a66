package integration

import (
	"fmt"
	"strings"
	"testing"

	"relayguard/scoring/dns/dnstest"
)

// TestBlackholedResolverMailStillFlows: with [dns] servers pointing at a
// resolver that reads and drops every query (a firewalled or wedged
// unbound), mail is still relayed (dns.on_error = "accept"), the outage is
// one "DNS resolver down" line in the log, not one per query or message,
// and once the resolver is known down messages stop sending it queries.
func TestBlackholedResolverMailStillFlows(t *testing.T) {
	needHarness(t)
	t.Parallel()
	hole := dnstest.NewServer(t)
	hole.Blackhole(true)
	upstream, delivered := maildirUpstream(t)
	rg := startRelayguard(t, inboundConfig(t, upstream).
		set("dns", "servers", []string{hole.Addr}).
		set("dns", "timeout", "300ms").
		set("dns", "retries", 1).
		set("dns", "on_error", "accept"))

	send := func(i int) {
		t.Helper()
		subject := fmt.Sprintf("Minutes %d", i)
		tr := sendFrom(t, rg.Addr, "198.51.100.25", "mail.good.test",
			"--from", "sam@good.test", "--to", "alice@example.com",
			"--data", messageFile(t, "sam@good.test", "alice@example.com", subject, "Hi Alice,\n\nthe minutes are attached.\n\nSam\n"))
		tr.exit(t, swaksOK)
		tr.expect(t, "C: RCPT TO:<alice@example.com>", "S: 250", "C: .", "S: 250 ")
	}
	const n = 4
	for i := range n {
		send(i)
	}
	waitMaildir(t, delivered, n)
	if got := strings.Count(rg.Log(), "DNS resolver down"); got != 1 {
		t.Errorf("%d \"DNS resolver down\" log lines for one outage, want 1", got)
	}
	// Known down: a message costs the black hole nothing, but for at most
	// one recovery probe.
	sent := hole.Queries()
	send(n)
	waitMaildir(t, delivered, n+1)
	if got := hole.Queries() - sent; got > 1 {
		t.Errorf("a message sent %d queries to the resolver known down, want none (at most one probe)", got)
	}
	if strings.Contains(rg.Log(), "answering again") {
		t.Error("the log says the black hole answered again")
	}
}
