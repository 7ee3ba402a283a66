package filter

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"relayguard/internal/limit"
	"relayguard/internal/metrics"
)

// The volume limits as gates of the session. Messages are checked at MAIL
// for the keys known then (user, sender, client IP), recipients at each
// RCPT, the original IP behind a trusted relay at end of DATA (only the
// message's Received chain tells it). All are counted once, when the next
// hop said 250: a refused or failed message counts nothing, and nothing
// is counted twice. Between the check and the count another instance may
// take the last place, so a burst spread over instances can pass the
// limit by what is in flight; counting before acceptance instead would
// count the messages refused later.

// limitTimeout bounds one look-up in the state store: a Redis that stops
// answering must not hold the session past the client's patience.
const limitTimeout = 2 * time.Second

func (s *session) limiter() *limit.Limiter { return s.srv.opts.Limiter }

// subject is what the transaction is counted by. A trusted relay's own
// address is not: it carries every customer's mail, and an "ip" limit on
// it would stop them all; the host behind it is counted as original_ip.
func (s *session) subject() limit.Subject {
	sub := limit.Subject{User: s.user, Sender: s.from, IP: s.ip}
	if a := s.srv.policy.Access; a != nil && a.Trusted(s.ip) {
		sub.IP = netip.Addr{}
	}
	return sub
}

// limitReply turns a refusal into the client's reply, and logs the key
// that tripped. An outage is logged once by the limiter, not per message.
func (s *session) limitReply(stage string, r *limit.Refusal) error {
	if r == nil {
		return nil
	}
	if r.Kind == limit.Unavailable {
		s.log.Info("limits unavailable, tempfailed", "session", s.id, "stage", stage)
		return errLimitsUnavailable
	}
	metrics.RateLimited(limitKind(r))
	s.log.Warn("rate limited", "session", s.id, "stage", stage, "ip", s.ip, "user", s.user,
		"from", s.from, "key", r.Key, "detail", r.Detail)
	return limited(r.Text, s.ref())
}

// limitKind is the metrics label of a refusal: the hold, or the kind of
// key that went over (user, sender, ip, original_ip), never its value.
func limitKind(r *limit.Refusal) string {
	if r.Kind == limit.Held {
		return "hold"
	}
	kind, _, _ := strings.Cut(r.Key, ":")
	return kind
}

func (s *session) checkMailLimits(from string) error {
	if !s.limiter().Active() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), limitTimeout)
	defer cancel()
	sub := s.subject()
	sub.Sender = from
	return s.limitReply("MAIL", s.limiter().CheckMail(ctx, sub))
}

func (s *session) checkRcptLimits() error {
	if !s.limiter().Active() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), limitTimeout)
	defer cancel()
	return s.limitReply("RCPT", s.limiter().CheckRcpt(ctx, s.subject(), len(s.rcpts)))
}

// dataSubject adds the original hop the engine found behind a trusted
// relay.
func (s *session) dataSubject() limit.Subject {
	sub := s.subject()
	if hop := s.job.Facts().Hop; hop != nil {
		sub.OriginalIP = hop.IP
	}
	return sub
}

func (s *session) checkDataLimits() error {
	if !s.limiter().Active() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), limitTimeout)
	defer cancel()
	return s.limitReply("DATA", s.limiter().CheckData(ctx, s.dataSubject(), len(s.rcpts)))
}

// countAccepted counts the message the next hop accepted.
func (s *session) countAccepted() {
	if !s.limiter().Active() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), limitTimeout)
	defer cancel()
	s.limiter().Count(ctx, s.dataSubject(), len(s.rcpts))
}

// recordVerdict tells the hold what an authenticated user's message
// scored, whatever became of it (a rejected spam run is still one).
func (s *session) recordVerdict(spam bool) {
	if s.user == "" || !s.limiter().Active() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), limitTimeout)
	defer cancel()
	s.limiter().Verdict(ctx, s.user, s.ref(), spam)
}

func (s *session) authBlocked() bool {
	if !s.limiter().Active() {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), limitTimeout)
	defer cancel()
	return s.limiter().AuthBlocked(ctx, s.ip)
}

func (s *session) authFailed() {
	if !s.limiter().Active() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), limitTimeout)
	defer cancel()
	s.limiter().AuthFailed(ctx, s.ip)
}
