package integration

import (
	"testing"
)

// A customer who logs in to relayguard itself (SMTP AUTH after STARTTLS)
// from a home line that sits on a policy blocklist, as most consumer IPs
// sit on Spamhaus PBL. go-smtp opens the session at EHLO, before the
// login: the client checks must judge the customer once the login is
// known, not the stranger they saw at EHLO. The same IP without AUTH is a
// stranger and is penalised.
func TestSenderCustomerLoggedInFromAListedHomeIP(t *testing.T) {
	needHarness(t)
	needSwaksTLS(t)
	t.Parallel()
	w := startSenderWorld(t)
	upstream, delivered := maildirUpstream(t)
	dir := testDir(t, "customer")
	cert, key := selfSignedCert(t, dir)
	cfg := w.rgConfig(t, upstream).
		set("server", "tls_cert", cert).
		set("server", "tls_key", key).
		set("access", "users_file", usersFile(t, dir, map[string]string{"sam": "correct horse battery staple"}))
	rg := startRelayguardLists(t, cfg)

	// 203.0.113.8: no reverse DNS, and bl.test answers its policy code
	// 127.0.0.10 (weight 3), like a PBL listing.
	send := func(t *testing.T, subject string, args ...string) message {
		t.Helper()
		data, id := senderMessageFile(t, "", "sam@good.test", "alice@example.com", subject,
			"Hi Alice,\n\nthe minutes are on the wiki.\n\nSam\n")
		tr := sendFrom(t, rg.Addr, "203.0.113.8", "laptop", append(args,
			"--from", "sam@good.test", "--to", "alice@example.com", "--data", data)...)
		tr.exit(t, swaksOK)
		return waitMessageID(t, delivered, id)
	}

	t.Run("logged in: judged as the customer", func(t *testing.T) {
		got := send(t, "Logged in", "--tls", "--auth", "PLAIN", "--auth-user", "sam", "--auth-password", "correct horse battery staple")
		checkSpamTests(t, got, nil, []string{"DNSBL_BL", "RDNS_NONE", "HELO_NOT_FQDN"})
	})
	t.Run("not logged in: judged as a stranger", func(t *testing.T) {
		got := send(t, "Not logged in", "--tls")
		checkSpamTests(t, got, []string{"DNSBL_BL", "RDNS_NONE", "HELO_NOT_FQDN"}, nil)
	})
}
