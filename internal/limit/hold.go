package limit

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// The hold: an account whose outbound mail suddenly scores as spam is
// held, not slowed. This is the stolen password sending a spam run, the
// event that gets the site's IP listed; the volume limits alone let it
// send up to the limit.

func holdKey(user string) string     { return "hold:" + user }
func evidenceKey(user string) string { return "hold:refs:" + user }

// held returns the refusal for a held account.
func (l *Limiter) held(ctx context.Context, user string) (*Refusal, error) {
	if user == "" || l.opts.Hold.SpamMessages <= 0 {
		return nil, nil
	}
	why, ok, err := l.st.Mark(ctx, holdKey(user))
	if err != nil {
		return nil, err
	}
	l.answered()
	if !ok {
		return nil, nil
	}
	return &Refusal{Kind: Held, Key: "user:" + user,
		Text:   fmt.Sprintf("account %s is held: %s; ask the postmaster", user, why),
		Detail: "held: " + why}, nil
}

// Verdict records the verdict of one message an authenticated user sent:
// spam is a score at or above add_header. Enough of them within the hold
// window hold the account; an ERROR line names it and the references of
// the messages that led there.
func (l *Limiter) Verdict(ctx context.Context, user, ref string, spam bool) {
	h := l.opts.Hold
	if user == "" || !spam || h.SpamMessages <= 0 {
		return
	}
	now := l.opts.Now()
	cur, prev := bucketKeys("hold:spam:"+user, h.Window, now)
	if _, err := l.st.Add(ctx, cur, 1, 2*h.Window); err != nil {
		l.outcome(nil, err)
		return
	}
	vals, err := l.st.Counts(ctx, []string{cur, prev})
	if err != nil {
		l.outcome(nil, err)
		return
	}
	l.answered()
	refs := l.evidence(ctx, user, ref)
	n := int64(math.Ceil(estimate(vals[0], vals[1], h.Window, now)))
	if n < h.SpamMessages {
		return
	}
	if _, already, err := l.st.Mark(ctx, holdKey(user)); err != nil || already {
		l.outcome(nil, err)
		return
	}
	span := Human(h.Window) // "10 minutes", or "the last hour"
	if !strings.Contains(span, " ") {
		span = "the last " + span
	}
	why := fmt.Sprintf("%d messages scored as spam in %s", n, span)
	if _, _, err := l.st.SetMark(ctx, holdKey(user), why, h.Duration); err != nil {
		l.outcome(nil, err)
		return
	}
	l.opts.Log.Error("account held: its mail scores as spam; `relayguard ratelimit release USER` lifts the hold",
		"user", user, "spam_messages", n, "window", h.Window, "until", now.Add(h.Duration).Format(time.RFC3339),
		"evidence", refs)
}

// evidence adds ref to the account's recent spam references and returns
// them. Not atomic across instances: it is the log's evidence, not a count.
func (l *Limiter) evidence(ctx context.Context, user, ref string) []string {
	old, _, err := l.st.Mark(ctx, evidenceKey(user))
	if err != nil {
		return []string{ref}
	}
	refs := append(strings.Fields(old), ref)
	if max := int(2 * l.opts.Hold.SpamMessages); len(refs) > max {
		refs = refs[len(refs)-max:]
	}
	l.st.SetMark(ctx, evidenceKey(user), strings.Join(refs, " "), 2*l.opts.Hold.Window)
	return refs
}

// Release lifts the hold on user; it tells whether there was one.
func (l *Limiter) Release(ctx context.Context, user string) (bool, error) {
	_, had, err := l.st.Mark(ctx, holdKey(user))
	if err != nil {
		return false, fmt.Errorf("release %s: %w", user, err)
	}
	if err := l.st.DeleteMark(ctx, holdKey(user)); err != nil {
		return false, fmt.Errorf("release %s: %w", user, err)
	}
	if err := l.st.DeleteMark(ctx, evidenceKey(user)); err != nil {
		return had, fmt.Errorf("release %s: %w", user, err)
	}
	// The spam count restarts, or the next spam message would hold the
	// account again at once: counters cannot be deleted, so their values
	// are taken off.
	now := l.opts.Now()
	cur, prev := bucketKeys("hold:spam:"+user, l.opts.Hold.Window, now)
	vals, err := l.st.Counts(ctx, []string{cur, prev})
	if err != nil {
		return had, fmt.Errorf("release %s: %w", user, err)
	}
	for i, k := range []string{cur, prev} {
		if vals[i] != 0 {
			if _, err := l.st.Add(ctx, k, -vals[i], 2*l.opts.Hold.Window); err != nil {
				return had, fmt.Errorf("release %s: %w", user, err)
			}
		}
	}
	return had, nil
}
