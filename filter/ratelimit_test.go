package filter

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/crypto/bcrypt"

	"relayguard/internal/access"
	"relayguard/internal/limit"
	"relayguard/internal/store"
	"relayguard/scoring"
)

// syncBuffer is a log the server writes from its goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startLimitedServer is an AUTH server for alice with a limiter on st.
func startLimitedServer(t *testing.T, st limit.State, lo limit.Options) (*testServer, *syncBuffer) {
	t.Helper()
	var log syncBuffer
	lo.Log = slog.New(slog.NewTextHandler(&log, nil))
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	users, err := LoadUsers(writeUsers(t, "alice:"+string(hash)))
	if err != nil {
		t.Fatal(err)
	}
	opts := defaultTestOptions()
	opts.TLS = testTLS(t)
	opts.MaxRecipients = 50
	opts.Limiter = limit.New(st, lo)
	ts := startServer(t, opts, scoring.DefaultPolicy(), nil)
	ts.srv.users = users
	ts.srv.log = slog.New(slog.NewTextHandler(&log, nil))
	return ts, &log
}

func aliceClient(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	c := tlsClient(t, addr)
	if err := c.Auth(sasl.NewPlainClient("", "alice", "s3cret")); err != nil {
		t.Fatalf("auth: %v", err)
	}
	return c
}

// sendVia sends one message with rcpts recipients and returns the first
// refusal.
func sendVia(c *smtp.Client, rcpts int, body string) error {
	if err := c.Mail("alice@customer.example", nil); err != nil {
		return err
	}
	for i := 0; i < rcpts; i++ {
		if err := c.Rcpt(fmt.Sprintf("friend%d@other.example", i), nil); err != nil {
			c.Reset()
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "From: alice@customer.example\r\nTo: friend@other.example\r\nSubject: hi\r\n\r\n%s\r\n", body)
	return w.Close()
}

func wantReply(t *testing.T, err error, code int, enhanced smtp.EnhancedCode, text string) {
	t.Helper()
	se, ok := err.(*smtp.SMTPError)
	if !ok || se.Code != code || se.EnhancedCode != enhanced || !strings.Contains(se.Message, text) {
		t.Fatalf("reply %v, want %d %v ...%s", err, code, enhanced, text)
	}
}

func TestOverLimitIsTempfailedAtMailAndRcpt(t *testing.T) {
	ts, log := startLimitedServer(t, store.NewMemory(nil), limit.Options{Rules: []limit.Rule{
		{Key: limit.KeyUser, Window: time.Hour, Limits: limit.Limits{Messages: 2}},
		{Key: limit.KeyUser, Window: 24 * time.Hour, Limits: limit.Limits{Recipients: 20}},
	}})
	c := aliceClient(t, ts.addr)
	if err := sendVia(c, 16, "one"); err != nil {
		t.Fatalf("first message: %v", err)
	}
	// 16 recipients counted once: 4 more pass, the 5th is the 21st.
	err := sendVia(c, 5, "two")
	wantReply(t, err, 451, smtp.EnhancedCode{4, 7, 1}, "user alice sent 16 recipients in the last day, the limit is 20; try again later")
	if err := sendVia(c, 4, "two"); err != nil {
		t.Fatalf("second message: %v", err)
	}
	err = sendVia(c, 1, "three")
	wantReply(t, err, 451, smtp.EnhancedCode{4, 7, 1}, "user alice sent 2 messages in the last hour, the limit is 2")
	if n := len(ts.up.messages()); n != 2 {
		t.Errorf("%d messages relayed, want 2", n)
	}
	if !strings.Contains(log.String(), "key=user:alice") {
		t.Errorf("no log line names the key:\n%s", log.String())
	}
}

func TestSpammingAccountIsHeld(t *testing.T) {
	st := store.NewMemory(nil)
	lo := limit.Options{Hold: limit.HoldPolicy{SpamMessages: 3, Window: 10 * time.Minute, Duration: time.Hour}}
	ts, log := startLimitedServer(t, st, lo)
	c := aliceClient(t, ts.addr)
	for i := 0; i < 3; i++ {
		err := sendVia(c, 1, gtube)
		wantReply(t, err, 554, smtp.EnhancedCode{5, 7, 1}, "")
	}
	err := sendVia(c, 1, "ham now")
	wantReply(t, err, 451, smtp.EnhancedCode{4, 7, 1}, "account alice is held: 3 messages scored as spam in 10 minutes; ask the postmaster")
	if !strings.Contains(log.String(), "level=ERROR msg=\"account held") {
		t.Errorf("no ERROR line for the hold:\n%s", log.String())
	}
	// Release through another limiter on the same store, as the command does.
	if had, err := limit.New(st, lo).Release(context.Background(), "alice"); err != nil || !had {
		t.Fatalf("release: %v %v", had, err)
	}
	if err := sendVia(c, 1, "ham again"); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

func TestAuthFailuresBlockAcrossSessions(t *testing.T) {
	ts, _ := startLimitedServer(t, store.NewMemory(nil), limit.Options{
		Auth: limit.AuthPolicy{Failures: 4, Window: 10 * time.Minute, Block: time.Hour}})
	// Two sessions of 2 failures: under the per-session limit of 3 each.
	for i := 0; i < 2; i++ {
		c := tlsClient(t, ts.addr)
		for j := 0; j < 2; j++ {
			wantReply(t, c.Auth(sasl.NewPlainClient("", "alice", "guess")), 535, smtp.EnhancedCode{5, 7, 8}, "")
		}
	}
	c := tlsClient(t, ts.addr)
	wantReply(t, c.Auth(sasl.NewPlainClient("", "alice", "s3cret")), 454, smtp.EnhancedCode{4, 7, 0}, "Too many failed logins")
}

// downStore is a store that cannot be reached.
type downStore struct{ *store.Memory }

func (downStore) Counts(context.Context, []string) ([]int64, error) {
	return nil, fmt.Errorf("redis: %w", store.ErrUnavailable)
}
func (downStore) Add(context.Context, string, int64, time.Duration) (int64, error) {
	return 0, fmt.Errorf("redis: %w", store.ErrUnavailable)
}
func (downStore) Mark(context.Context, string) (string, bool, error) {
	return "", false, fmt.Errorf("redis: %w", store.ErrUnavailable)
}

func TestStoreDownFollowsOnError(t *testing.T) {
	rules := []limit.Rule{{Key: limit.KeyUser, Window: time.Hour, Limits: limit.Limits{Messages: 1}}}
	for _, tt := range []struct {
		name       string
		failClosed bool
	}{{"accept lets mail through", false}, {"tempfail answers 451 4.3.0", true}} {
		t.Run(tt.name, func(t *testing.T) {
			ts, log := startLimitedServer(t, downStore{store.NewMemory(nil)}, limit.Options{Rules: rules, FailClosed: tt.failClosed})
			c := aliceClient(t, ts.addr)
			for i := 0; i < 2; i++ {
				err := sendVia(c, 1, "hello")
				if tt.failClosed {
					wantReply(t, err, 451, smtp.EnhancedCode{4, 3, 0}, "try again later")
				} else if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			if n := strings.Count(log.String(), "until it answers"); n != 1 {
				t.Errorf("%d outage lines, want 1", n)
			}
			if strings.Contains(log.String(), "ErrUnavailable") {
				t.Error("error text leaked")
			}
		})
	}
}

// TestTrustedRelayCountedByTheHostBehindIt: behind a trusted relay the
// relay's own address is not limited (it carries everyone's mail); the
// original IP from its Received field is, at end of DATA.
func TestTrustedRelayCountedByTheHostBehindIt(t *testing.T) {
	acc := access.New(access.Options{
		TrustedRelays: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		RelayNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		LocalDomains:  []string{"local.example"},
	})
	engine, err := scoring.NewEngine(scoring.Options{Policy: scoring.DefaultPolicy(), Timeout: 5 * time.Second,
		Trust: acc, Checks: []scoring.Check{scoring.GTUBE{}}})
	if err != nil {
		t.Fatal(err)
	}
	opts := defaultTestOptions()
	opts.Limiter = limit.New(store.NewMemory(nil), limit.Options{Rules: []limit.Rule{
		{Key: limit.KeyIP, Window: time.Hour, Limits: limit.Limits{Messages: 1}},
		{Key: limit.KeyOriginalIP, Window: time.Hour, Limits: limit.Limits{Messages: 2}},
	}})
	up := &fakeUpstream{}
	srv := NewServer(opts, &Policy{Access: acc}, nil, engine, up, discardLog())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })

	from := func(ip string) string {
		return "Received: from mail.example.com (mail.example.com [" + ip + "])\n" +
			"\tby relay.example.net with esmtps id 1abc; Tue, 03 Jun 2025 10:00:00 +0000\n" + ham
	}
	c := dial(t, l.Addr().String())
	c.hello()
	for i, tt := range []struct {
		ip   string
		code int
		want string
	}{
		{"203.0.113.7", 250, "relayed"},
		{"198.51.100.9", 250, "relayed"}, // past the relay's "ip" limit of 1: not counted
		{"203.0.113.7", 250, "relayed"},
		{"203.0.113.7", 451, "original address 203.0.113.7 sent 2 messages in the last hour, the limit is 2"},
	} {
		c.envelope("sam@client.test", "user@local.example")
		c.sendMessage(from(tt.ip))
		if got := c.expect(tt.code, tt.want); tt.code == 451 && !strings.Contains(got, "4.7.1") {
			t.Errorf("message %d: %s, want 4.7.1", i, got)
		}
	}
	if n := len(up.messages()); n != 3 {
		t.Errorf("%d relayed, want 3", n)
	}
}
