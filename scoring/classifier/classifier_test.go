package classifier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"relayguard/internal/store"
	"relayguard/rules/message"
	"relayguard/scoring"
)

func parse(raw string) *message.Message {
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	return message.ParseMessage(bytes.NewReader([]byte(raw)), int64(len(raw)))
}

func mail(id, subject, body string) *message.Message {
	return parse(fmt.Sprintf("From: Shop Team <news@shop.example>\nTo: a@b.example\nSubject: %s\nMessage-ID: <%s@x>\n\n%s\n", subject, id, body))
}

func TestTokenizerNormalisesLikeTheWordingRules(t *testing.T) {
	m := parse("From: \"Cheap Pills\" <a@pills.example>\nReply-To: x@reply.example\nSubject: Buy V1AGRA today\n" +
		"X-Mailer: MassMailer 5\nContent-Type: text/plain\n\nviagra v i a g r a at http://www.pills.example/buy ok\n")
	got := map[string]bool{}
	for _, f := range Features(m, nil, TokenOptions{}) {
		got[f] = true
	}
	for _, want := range []string{"viagra", "s:viagra", "s:buy", "fn:cheap", "fd:pills.example", "rd:reply.example",
		"xm:massmailer", "mime:text/plain", "h:www.pills.example", "d:pills.example"} {
		if !got[want] {
			t.Errorf("missing feature %q in %v", want, got)
		}
	}
	for _, bad := range []string{"v1agra", "ok", "at"} {
		if got[bad] {
			t.Errorf("feature %q should not be there (normalised away or too short)", bad)
		}
	}
}

func TestTokenizerBoundsAndDeduplicates(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "word%d word%d ", i, i)
	}
	b.WriteString(strings.Repeat("x", 25) + " " + strings.Repeat("y", 24))
	for _, bigrams := range []bool{false, true} {
		f := Features(mail("1", "hello", b.String()), nil, TokenOptions{Bigrams: bigrams})
		if len(f) != MaxTokens {
			t.Errorf("bigrams %v: %d features, want the bound %d", bigrams, len(f), MaxTokens)
		}
		seen := map[string]bool{}
		for _, x := range f {
			if seen[x] {
				t.Errorf("feature %q twice", x)
			}
			seen[x] = true
		}
	}
	f := Features(mail("1", "hi", strings.Repeat("x", 25)+" "+strings.Repeat("y", 24)), nil, TokenOptions{})
	if strings.Contains(strings.Join(f, " "), strings.Repeat("x", 25)) || !strings.Contains(strings.Join(f, " "), strings.Repeat("y", 24)) {
		t.Errorf("words over 24 characters must go, 24 stay: %v", f)
	}
}

func TestStoredTokensHoldNoText(t *testing.T) {
	m := mail("1", "secret subject", "confidential payroll figures attached")
	for _, tok := range Tokens(m, nil, TokenOptions{Bigrams: true}) {
		if len(tok) != 11 {
			t.Errorf("token %q: want 11 characters (64-bit hash)", tok)
		}
		for _, w := range []string{"secret", "confidential", "payroll", "shop"} {
			if strings.Contains(tok, w) {
				t.Errorf("token %q holds text %q", tok, w)
			}
		}
	}
}

func TestCombinerKnownValues(t *testing.T) {
	spammy := make([]store.TokenCounts, 20)
	hammy := make([]store.TokenCounts, 20)
	for i := range spammy {
		spammy[i] = store.TokenCounts{Spam: 90, Ham: 1}
		hammy[i] = store.TokenCounts{Spam: 1, Ham: 90}
	}
	tests := []struct {
		name     string
		counts   []store.TokenCounts
		min, max float64
	}{
		{"all spam tokens are near 1", spammy, 0.999, 1},
		{"all ham tokens are near 0", hammy, 0, 0.001},
		{"unknown tokens say 0.5", make([]store.TokenCounts, 10), 0.5, 0.5},
		{"no tokens say 0.5", nil, 0.5, 0.5},
		{"balanced tokens are insignificant", []store.TokenCounts{{Spam: 50, Ham: 50}}, 0.5, 0.5},
		{"half spam half ham is undecided", append(append([]store.TokenCounts{}, spammy...), hammy...), 0.45, 0.55},
	}
	for _, tt := range tests {
		p, _ := combine(tt.counts, 100, 100)
		if p < tt.min || p > tt.max {
			t.Errorf("%s: p = %g, want [%g, %g]", tt.name, p, tt.min, tt.max)
		}
	}
	// Symmetry: swapping spam and ham gives 1 - p.
	mixed := []store.TokenCounts{{Spam: 30, Ham: 2}, {Spam: 5, Ham: 1}, {Spam: 1, Ham: 9}, {Spam: 40, Ham: 3}}
	swapped := make([]store.TokenCounts, len(mixed))
	for i, c := range mixed {
		swapped[i] = store.TokenCounts{Spam: c.Ham, Ham: c.Spam}
	}
	p, _ := combine(mixed, 100, 100)
	q, _ := combine(swapped, 100, 100)
	if math.Abs(p+q-1) > 1e-9 {
		t.Errorf("symmetry: p = %g, swapped %g, sum %g, want 1", p, q, p+q)
	}
	// Robinson's f(w) for a token seen once in spam: (0.5 + 1) / 2 = 0.75.
	if f, _ := tokenProb(store.TokenCounts{Spam: 1}, 10, 10); math.Abs(f-0.75) > 1e-12 {
		t.Errorf("f(w) of one spam sighting = %g, want 0.75", f)
	}
}

func TestCombinerKeepsTheMostSignificant(t *testing.T) {
	// 150 strong ham tokens and 300 weak spam ones: only the 150 strongest
	// count, so the message is ham.
	var counts []store.TokenCounts
	for range 150 {
		counts = append(counts, store.TokenCounts{Ham: 100})
	}
	for range 300 {
		counts = append(counts, store.TokenCounts{Spam: 7, Ham: 3})
	}
	p, used := combine(counts, 100, 100)
	if used != maxSignificant || p > 0.01 {
		t.Errorf("p = %g from %d tokens, want ham from %d", p, used, maxSignificant)
	}
}

func TestBandBoundaries(t *testing.T) {
	tests := []struct {
		p    float64
		want string
	}{
		{0, SymBayes00}, {0.0099, SymBayes00}, {0.01, SymBayes05}, {0.0499, SymBayes05}, {0.05, SymBayes20},
		{0.1999, SymBayes20}, {0.2, SymBayes40}, {0.4, SymBayes50}, {0.5, SymBayes50}, {0.5999, SymBayes50},
		{0.6, SymBayes60}, {0.8, SymBayes80}, {0.95, SymBayes95}, {0.9899, SymBayes95}, {0.99, SymBayes99},
		{0.9989, SymBayes99}, {0.999, SymBayes999}, {1, SymBayes999},
	}
	for _, tt := range tests {
		if got := Band(tt.p); got != tt.want {
			t.Errorf("Band(%g) = %s, want %s", tt.p, got, tt.want)
		}
	}
	s := DefaultScores()
	if s[SymBayes00] >= 0 || s[SymBayes999] <= s[SymBayes99] || s[SymBayes999] >= 6 || s[SymBayesUnavailable] != 0 {
		t.Errorf("default scores out of shape: %v", s)
	}
}

func newTestClassifier(t *testing.T, st Store, min int64) *Classifier {
	t.Helper()
	c, err := New(Options{Store: st, MinLearns: min})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLearnTwiceCountsOnceAndReclassMoves(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory(nil)
	c := newTestClassifier(t, st, 1)
	m := mail("a", "cheap pills", "buy cheap pills now")
	steps := []struct {
		do        string
		want      LearnOutcome
		spam, ham int64
	}{
		{"spam", Learned, 1, 0},
		{"spam", AlreadyLearned, 1, 0},
		{"ham", Moved, 0, 1},
		{"ham", AlreadyLearned, 0, 1},
		{"forget", 0, 0, 0},
		{"forget", 0, 0, 0},
		{"spam", Learned, 1, 0},
	}
	for i, s := range steps {
		var err error
		var out LearnOutcome
		if s.do == "forget" {
			_, err = c.Forget(ctx, m, nil)
		} else {
			out, err = c.Learn(ctx, m, nil, s.do == "spam")
		}
		if err != nil {
			t.Fatalf("step %d %s: %v", i, s.do, err)
		}
		if s.do != "forget" && out != s.want {
			t.Errorf("step %d %s: %v, want %v", i, s.do, out, s.want)
		}
		spam, ham, _ := st.Totals(ctx)
		if spam != s.spam || ham != s.ham {
			t.Errorf("step %d %s: totals %d/%d, want %d/%d", i, s.do, spam, ham, s.spam, s.ham)
		}
		counts, _, _ := st.TokenCounts(ctx, []string{Hash("cheap")})
		if int64(counts[0].Spam) != s.spam || int64(counts[0].Ham) != s.ham {
			t.Errorf("step %d %s: token counts %+v, want %d/%d", i, s.do, counts[0], s.spam, s.ham)
		}
	}
	// Same Message-ID, other body: another message.
	if out, _ := c.Learn(ctx, mail("a", "cheap pills", "a different body"), nil, true); out != Learned {
		t.Errorf("same Message-ID, other body: %v, want learned", out)
	}
}

// train learns n spam and n ham messages with distinct vocabularies.
func train(t *testing.T, c *Classifier, n int) {
	t.Helper()
	for i := range n {
		if _, err := c.Learn(context.Background(), mail(fmt.Sprint("s", i), "winner prize", fmt.Sprintf("claim your lottery prize money now %d", i)), nil, true); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Learn(context.Background(), mail(fmt.Sprint("h", i), "meeting notes", fmt.Sprintf("the patch review meeting is moved to thursday %d", i)), nil, false); err != nil {
			t.Fatal(err)
		}
	}
}

func runCheck(c *Classifier, m *message.Message, f scoring.Facts) scoring.Result {
	return c.Checks()[0].Run(context.Background(), &scoring.Input{Message: m, Facts: f})
}

func TestSilentUntilMinLearns(t *testing.T) {
	c := newTestClassifier(t, store.NewMemory(nil), 5)
	spam := mail("new", "winner prize", "claim your lottery prize money")
	train(t, c, 4)
	if r := runCheck(c, spam, scoring.Facts{}); len(r.Symbols) != 0 {
		t.Errorf("4 of 5 learned: symbols %v, want silence", r.Symbols)
	}
	train(t, c, 5) // the first 4 are known: one more of each
	r := runCheck(c, spam, scoring.Facts{})
	if len(r.Symbols) != 1 || r.Symbols[0].Name != SymBayes999 {
		t.Errorf("5 of 5 learned: symbols %v, want %s", r.Symbols, SymBayes999)
	}
	ham := mail("newham", "meeting notes", "the patch review meeting")
	if r := runCheck(c, ham, scoring.Facts{}); len(r.Symbols) != 1 || r.Symbols[0].Name != SymBayes00 {
		t.Errorf("ham: symbols %v, want %s", r.Symbols, SymBayes00)
	}
}

// reads counts the classifier's reads of the store.
type reads struct {
	*store.Memory
	totals, tokens int
}

func (r *reads) Totals(ctx context.Context) (int64, int64, error) {
	r.totals++
	return r.Memory.Totals(ctx)
}

func (r *reads) TokenCounts(ctx context.Context, toks []string) ([]store.TokenCounts, store.Totals, error) {
	r.tokens++
	return r.Memory.TokenCounts(ctx, toks)
}

// A trained classifier costs one store round trip per message (Redis: one
// pipeline), and goes silent again when forgetting takes it below
// MinLearns, even on another instance sharing the store.
func TestOneStoreReadPerMessageOnceTrained(t *testing.T) {
	st := &reads{Memory: store.NewMemory(nil)}
	c := newTestClassifier(t, st, 5)
	train(t, c, 5)
	spam := mail("new", "winner prize", "claim your lottery prize money")
	runCheck(c, spam, scoring.Facts{}) // the first sees the totals reach MinLearns
	st.totals, st.tokens = 0, 0
	for i := range 10 {
		if r := runCheck(c, mail(fmt.Sprint("n", i), "winner prize", "claim your lottery prize money"), scoring.Facts{}); len(r.Symbols) != 1 {
			t.Fatalf("symbols %v, want one BAYES_ band", r.Symbols)
		}
	}
	if st.totals+st.tokens != 10 {
		t.Errorf("10 messages made %d totals reads and %d token reads, want 10 reads in all", st.totals, st.tokens)
	}
	// Another instance forgets a ham: below MinLearns, silent again.
	other := newTestClassifier(t, st.Memory, 5)
	if prev, err := other.Forget(context.Background(), mail("h0", "meeting notes", "the patch review meeting is moved to thursday 0"), nil); err != nil || prev != ClassHam {
		t.Fatalf("forget: %q %v, want it found as ham", prev, err)
	}
	if r := runCheck(c, spam, scoring.Facts{}); len(r.Symbols) != 0 {
		t.Errorf("after forgetting below MinLearns: symbols %v, want silence", r.Symbols)
	}
}

// failing is a store whose every call fails as a store that cannot be
// reached does.
type failing struct{ *store.Memory }

var errDown = fmt.Errorf("redis 127.0.0.1:6379: connection refused: %w", store.ErrUnavailable)

func (failing) Totals(context.Context) (int64, int64, error) { return 0, 0, errDown }
func (failing) TokenCounts(context.Context, []string) ([]store.TokenCounts, store.Totals, error) {
	return nil, store.Totals{}, errDown
}

func TestStoreFailureAbstains(t *testing.T) {
	c := newTestClassifier(t, failing{store.NewMemory(nil)}, 1)
	r := runCheck(c, mail("x", "hi", "hello there"), scoring.Facts{})
	if r.Err != nil {
		t.Errorf("Err = %v: a store failure must not fail the check", r.Err)
	}
	if len(r.Symbols) != 1 || r.Symbols[0].Name != SymBayesUnavailable || r.Symbols[0].Score != 0 {
		t.Fatalf("symbols %v, want one zero-score %s", r.Symbols, SymBayesUnavailable)
	}
	if d := r.Symbols[0].Detail; !strings.Contains(d, "state store unavailable") || strings.Contains(d, "127.0.0.1") {
		t.Errorf("detail %q: want the cause in plain words, no internal error text", d)
	}
	if _, err := c.Classify(context.Background(), mail("x", "hi", "hello"), nil); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Classify error %v, want it to wrap ErrUnavailable", err)
	}
}

func TestAutolearnGuards(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory(nil)
	c, err := New(Options{Store: st, MinLearns: 1, Autolearn: true, AutolearnSpam: 25, AutolearnHam: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	final := c.Checks()[1]
	tests := []struct {
		name      string
		id        string
		score     float64
		facts     scoring.Facts
		spam, ham int64
	}{
		{"far above reject is learned as spam", "s1", 30, scoring.Facts{}, 1, 0},
		{"the same message again is not learned twice", "s1", 30, scoring.Facts{}, 1, 0},
		{"between the thresholds is not learned", "m1", 10, scoring.Facts{}, 1, 0},
		{"an authenticated customer's mail is never learned", "a1", 30, scoring.Facts{AuthUser: "alice"}, 1, 0},
		{"our outbound mail is never learned", "o1", -5, scoring.Facts{Outbound: true}, 1, 0},
		{"clean mail is learned as ham", "h1", -1, scoring.Facts{}, 1, 1},
	}
	for _, tt := range tests {
		in := &scoring.Input{Message: mail(tt.id, "x", "body of "+tt.id), Facts: tt.facts,
			Symbols: []scoring.Symbol{{Name: "RULE", Score: tt.score}, {Name: SymBayes999, Score: 100}}}
		final.Run(ctx, in)
		spam, ham, _ := st.Totals(ctx)
		if spam != tt.spam || ham != tt.ham {
			t.Errorf("%s: totals %d/%d, want %d/%d", tt.name, spam, ham, tt.spam, tt.ham)
		}
	}
	s, err := c.StatsOf(ctx, -1)
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{LearnedSpam: 1, LearnedHam: 1, Tokens: -1, AutoSpam: 1, AutoHam: 1, SkippedOurs: 2, SkippedKnown: 1}
	if s != want {
		t.Errorf("stats %+v, want %+v", s, want)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	st := store.NewMemory(nil)
	for name, o := range map[string]Options{
		"no store":             {},
		"unknown score":        {Store: st, Scores: map[string]float64{"BAYES_7": 1}},
		"autolearn thresholds": {Store: st, Autolearn: true, AutolearnSpam: 1, AutolearnHam: 2},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	c, err := New(Options{Store: st, Scores: map[string]float64{SymBayes99: 7}})
	if err != nil || c.scores[SymBayes99] != 7 {
		t.Errorf("score override: %v %v", err, c.scores[SymBayes99])
	}
}

// TestLearnTokensSharesTheMarkWithLearn: a message learned from the
// history's stored tokens and then from its file counts once, and moving
// it to the other class through either moves the same counts.
func TestLearnTokensSharesTheMarkWithLearn(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory(nil)
	c := newTestClassifier(t, st, 1)
	m := mail("b", "cheap pills", "buy cheap pills now")
	id, err := MessageID(m)
	if err != nil {
		t.Fatal(err)
	}
	toks := c.MessageTokens(m, nil)
	steps := []struct {
		via       string // tokens or message
		spam      bool
		want      LearnOutcome
		nSpam, nH int64
	}{
		{"tokens", true, Learned, 1, 0},
		{"message", true, AlreadyLearned, 1, 0},
		{"tokens", true, AlreadyLearned, 1, 0},
		{"message", false, Moved, 0, 1},
		{"tokens", true, Moved, 1, 0},
	}
	for i, s := range steps {
		var out LearnOutcome
		if s.via == "tokens" {
			out, err = c.LearnTokens(ctx, id, toks, s.spam)
		} else {
			out, err = c.Learn(ctx, m, nil, s.spam)
		}
		if err != nil || out != s.want {
			t.Errorf("step %d via %s: %v %v, want %v", i, s.via, out, err, s.want)
		}
		sp, hm, _ := st.Totals(ctx)
		counts, _, _ := st.TokenCounts(ctx, []string{Hash("cheap")})
		if sp != s.nSpam || hm != s.nH || int64(counts[0].Spam) != s.nSpam || int64(counts[0].Ham) != s.nH {
			t.Errorf("step %d: totals %d/%d token %+v, want %d/%d", i, sp, hm, counts[0], s.nSpam, s.nH)
		}
	}
	if got, _ := c.LearnedAs(ctx, id); got != ClassSpam {
		t.Errorf("learned as %q, want spam", got)
	}
	if _, err := c.LearnTokens(ctx, "", toks, true); err == nil {
		t.Error("learning under no id: no error")
	}
}

// TestJudgedTokensOnlyWhenTheCheckTokenized: the history keeps the tokens
// the check computed, and computes none itself.
func TestJudgedTokensOnlyWhenTheCheckTokenized(t *testing.T) {
	ctx := context.Background()
	c := newTestClassifier(t, store.NewMemory(nil), 1)
	m := mail("c", "hello", "lunch on friday")
	if _, err := c.Classify(ctx, m, nil); err != nil { // untrained: no tokens
		t.Fatal(err)
	}
	if _, ok := c.JudgedTokens(m, nil); ok {
		t.Error("tokens of a message an untrained classifier never tokenized")
	}
	train(t, c, 1)
	m = mail("d", "hello", "lunch on friday")
	if _, err := c.Classify(ctx, m, nil); err != nil {
		t.Fatal(err)
	}
	toks, ok := c.JudgedTokens(m, nil)
	if !ok || len(toks) == 0 || toks[0] != c.MessageTokens(m, nil)[0] {
		t.Errorf("judged tokens %v %v, want the check's", len(toks), ok)
	}
}
