// Package classifier is relayguard's statistical filter: it learns the
// words, links and header features of a site's own spam and ham, and
// judges each message by how its features were seen before (Robinson's
// f(w) combined with Fisher's method, as SpamAssassin, bogofilter and
// rspamd do). Token counts live in the state store (internal/store), hashed,
// so the store never holds message text and every instance on one Redis
// shares what any of them learned.
package classifier

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"

	"relayguard/internal/store"
	"relayguard/internal/trace"
	"relayguard/rules/message"
)

// Store is what the classifier keeps in the state store: token counts,
// learned-message marks, and the autolearn counters.
type Store interface {
	store.Tokens
	store.Marks
	store.Counters
}

// DefaultMinLearns is how many messages of each class must be learned
// before the classifier speaks (SpamAssassin's bayes_min_spam_num and
// bayes_min_ham_num): with fewer, its probabilities are noise.
const DefaultMinLearns = 200

// Options configure a Classifier.
type Options struct {
	Store Store
	// MinLearns of each class before any verdict (0: DefaultMinLearns).
	MinLearns int64
	// Scores override the band scores (DefaultScores).
	Scores map[string]float64
	// Tokens choose the features.
	Tokens TokenOptions
	// Autolearn learns from verdicts far from the thresholds: a score
	// (without the classifier's own symbol) at or above AutolearnSpam is
	// learned as spam, at or below AutolearnHam as ham.
	Autolearn                   bool
	AutolearnSpam, AutolearnHam float64
	Log                         *slog.Logger
}

// Classifier judges and learns messages. It is safe for concurrent use.
type Classifier struct {
	st        Store
	minLearns int64
	scores    map[string]float64
	tok       TokenOptions
	auto      bool
	autoSpam  float64
	autoHam   float64
	log       *slog.Logger
	// down is set while the store is failing, so the outage is logged
	// once and its end once.
	down atomic.Bool
	// trained is set once the totals reached MinLearns of each class:
	// from then on the totals come with the token counts, one read per
	// message; it is cleared when they are seen to fall short (forget).
	trained atomic.Bool
}

// New makes a classifier on a store.
func New(o Options) (*Classifier, error) {
	if o.Store == nil {
		return nil, errors.New("classifier: no state store")
	}
	scores, err := scoreTable(o.Scores)
	if err != nil {
		return nil, err
	}
	if o.Autolearn && o.AutolearnSpam <= o.AutolearnHam {
		return nil, fmt.Errorf("classifier: autolearn_spam (%g) must be above autolearn_ham (%g)", o.AutolearnSpam, o.AutolearnHam)
	}
	c := &Classifier{st: o.Store, minLearns: o.MinLearns, scores: scores, tok: o.Tokens,
		auto: o.Autolearn, autoSpam: o.AutolearnSpam, autoHam: o.AutolearnHam, log: o.Log}
	if c.minLearns <= 0 {
		c.minLearns = DefaultMinLearns
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Verdict is what the classifier found for one message.
type Verdict struct {
	// Ready is false until MinLearns of each class are learned; Prob is
	// then 0.5 and means nothing.
	Ready bool
	// Prob is the spam probability, 0 to 1.
	Prob float64
	// Used is how many tokens were significant enough to count.
	Used int
	// Tokens is how many the message has.
	Tokens int
}

type tokensKey struct{ hop *trace.Hop }

// tokens are the message's hashed tokens, computed once per message and
// hop (the check and autolearn share them).
func (c *Classifier) tokens(m *message.Message, hop *trace.Hop) []string {
	return m.Memo(tokensKey{hop}, func() any { return Tokens(m, hop, c.tok) }).([]string)
}

// Classify judges a message. Until enough is learned it reads only the
// totals and does not tokenize: a new installation (the default) would pay
// for tokens on every message only to ignore them. Once trained, the
// totals come with the token counts: one read per message.
func (c *Classifier) Classify(ctx context.Context, m *message.Message, hop *trace.Hop) (Verdict, error) {
	if ready, err := c.ready(ctx); err != nil || !ready {
		return Verdict{Prob: 0.5}, err
	}
	return c.judge(ctx, c.tokens(m, hop))
}

// failed logs the first failure of an outage and passes err on.
func (c *Classifier) failed(err error) error {
	if !c.down.Swap(true) {
		c.log.Warn("classifier abstains: state store failing", "err", err)
	}
	return fmt.Errorf("classifier: %w", err)
}

func (c *Classifier) recovered() {
	if c.down.Swap(false) {
		c.log.Info("classifier: state store back")
	}
}

// Class names as stored in learned-message marks.
const (
	ClassSpam = "spam"
	ClassHam  = "ham"
)

func className(spam bool) string {
	if spam {
		return ClassSpam
	}
	return ClassHam
}

// MessageID identifies a message for learning: its Message-ID and a hash
// of its body, so that the same message learned twice counts once, and
// two messages that share a forged or missing Message-ID do not collide.
// It is a hash too: the store holds no header text.
func MessageID(m *message.Message) (string, error) {
	h := sha256.New()
	io.WriteString(h, strings.TrimSpace(m.Header.Get("Message-Id")))
	h.Write([]byte{0})
	if _, err := io.Copy(h, m.Body()); err != nil {
		return "", fmt.Errorf("classifier: reading the body: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16]), nil
}

func learnedKey(id string) string { return "learned:" + id }

// LearnOutcome says what a learn did.
type LearnOutcome int

const (
	// Learned: the message was new and is now counted.
	Learned LearnOutcome = iota
	// AlreadyLearned: it was learned as this class before; nothing changed.
	AlreadyLearned
	// Moved: it was learned as the other class, and now counts as this one.
	Moved
)

func (o LearnOutcome) String() string {
	switch o {
	case Learned:
		return "learned"
	case AlreadyLearned:
		return "already learned"
	case Moved:
		return "moved"
	}
	return "unknown"
}

// Learn counts the message as spam or ham. The mark is set first and
// atomically, so two learners of the same message count it once.
func (c *Classifier) Learn(ctx context.Context, m *message.Message, hop *trace.Hop, spam bool) (LearnOutcome, error) {
	id, err := MessageID(m)
	if err != nil {
		return 0, err
	}
	return c.learn(ctx, id, func() []string { return c.tokens(m, hop) }, spam)
}

// LearnTokens counts a message known only by its learn id (MessageID) and
// hashed tokens (MessageTokens), as the console's history keeps it, under
// the same mark as Learn: a message learned from the history and again
// from a folder counts once.
func (c *Classifier) LearnTokens(ctx context.Context, id string, tokens []string, spam bool) (LearnOutcome, error) {
	if id == "" {
		return 0, errors.New("classifier: no message id to learn under")
	}
	return c.learn(ctx, id, func() []string { return tokens }, spam)
}

// MessageTokens are the hashed tokens Learn would count for a message,
// shared with the check when it already computed them.
func (c *Classifier) MessageTokens(m *message.Message, hop *trace.Hop) []string {
	return c.tokens(m, hop)
}

// learn sets the mark first, then counts; tokens is called only when
// there is something to count.
func (c *Classifier) learn(ctx context.Context, id string, tokens func() []string, spam bool) (LearnOutcome, error) {
	class := className(spam)
	prev, had, err := c.st.SetMark(ctx, learnedKey(id), class, 0)
	if err != nil {
		return 0, fmt.Errorf("classifier: marking %s: %w", id, err)
	}
	if had && prev == class {
		return AlreadyLearned, nil
	}
	toks := tokens()
	out := Learned
	if had {
		if err := c.st.Learn(ctx, prev == ClassSpam, toks, -1); err != nil {
			c.restoreMark(ctx, id, prev, had)
			return 0, fmt.Errorf("classifier: forgetting %s as %s: %w", id, prev, err)
		}
		out = Moved
	}
	if err := c.st.Learn(ctx, spam, toks, +1); err != nil {
		// Put back what was there: counts and mark must agree.
		if had {
			c.st.Learn(ctx, prev == ClassSpam, toks, +1)
		}
		c.restoreMark(ctx, id, prev, had)
		return 0, fmt.Errorf("classifier: learning %s as %s: %w", id, class, err)
	}
	return out, nil
}

// restoreMark undoes a mark after a failed learn, as far as the store
// lets it (a store that failed may fail again; the mark then says the
// message is learned when it is not, and learning it again is a no-op:
// the lesser harm than counting it twice).
func (c *Classifier) restoreMark(ctx context.Context, id, prev string, had bool) {
	if had {
		c.st.SetMark(ctx, learnedKey(id), prev, 0)
		return
	}
	c.st.DeleteMark(ctx, learnedKey(id))
}

// Forget undoes the learning of a message and returns the class it had
// ("" when it was not learned).
func (c *Classifier) Forget(ctx context.Context, m *message.Message, hop *trace.Hop) (string, error) {
	id, err := MessageID(m)
	if err != nil {
		return "", err
	}
	prev, had, err := c.st.Mark(ctx, learnedKey(id))
	if err != nil {
		return "", fmt.Errorf("classifier: reading mark %s: %w", id, err)
	}
	if !had {
		return "", nil
	}
	if err := c.st.DeleteMark(ctx, learnedKey(id)); err != nil {
		return "", fmt.Errorf("classifier: unmarking %s: %w", id, err)
	}
	if err := c.st.Learn(ctx, prev == ClassSpam, c.tokens(m, hop), -1); err != nil {
		c.restoreMark(ctx, id, prev, true)
		return "", fmt.Errorf("classifier: forgetting %s: %w", id, err)
	}
	return prev, nil
}

// ClassifyTokens judges already-hashed tokens (Tokens): for tools that
// tokenize once and classify many times, like the accuracy report.
func (c *Classifier) ClassifyTokens(ctx context.Context, toks []string) (Verdict, error) {
	if ready, err := c.ready(ctx); err != nil || !ready {
		return Verdict{Prob: 0.5}, err
	}
	return c.judge(ctx, toks)
}

// ready tells whether MinLearns of each class are learned. Once they were,
// it answers from memory and judge checks the totals it reads anyway.
func (c *Classifier) ready(ctx context.Context) (bool, error) {
	if c.trained.Load() {
		return true, nil
	}
	nSpam, nHam, err := c.st.Totals(ctx)
	if err != nil {
		return false, c.failed(err)
	}
	c.recovered()
	ok := c.enough(store.Totals{Spam: nSpam, Ham: nHam})
	c.trained.Store(ok)
	return ok, nil
}

func (c *Classifier) enough(t store.Totals) bool {
	return t.Spam >= c.minLearns && t.Ham >= c.minLearns
}

// judge reads the counts of toks with the totals and combines them into
// the verdict; silent if the totals fell short of MinLearns since the
// classifier was last ready.
func (c *Classifier) judge(ctx context.Context, toks []string) (Verdict, error) {
	counts, tot, err := c.st.TokenCounts(ctx, toks)
	if err != nil {
		return Verdict{Prob: 0.5}, c.failed(err)
	}
	c.recovered()
	if !c.enough(tot) {
		c.trained.Store(false)
		return Verdict{Prob: 0.5}, nil
	}
	p, used := combine(counts, tot.Spam, tot.Ham)
	return Verdict{Ready: true, Prob: p, Used: used, Tokens: len(toks)}, nil
}

// LearnedAs returns the class a message was learned as ("" if never).
func (c *Classifier) LearnedAs(ctx context.Context, id string) (string, error) {
	v, _, err := c.st.Mark(ctx, learnedKey(id))
	if err != nil {
		return "", fmt.Errorf("classifier: reading mark %s: %w", id, err)
	}
	return v, nil
}

// JudgedTokens are the hashed tokens the check computed while judging m
// (false when it did not: the classifier is not trained yet, or off), at
// no cost beyond the lookup.
func (c *Classifier) JudgedTokens(m *message.Message, hop *trace.Hop) ([]string, bool) {
	v, ok := m.Memoized(tokensKey{hop})
	if !ok {
		return nil, false
	}
	toks, ok := v.([]string)
	return toks, ok
}
