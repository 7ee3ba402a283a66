package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"relayguard/internal/store"
	"relayguard/rules"
	"relayguard/rules/message"
	"relayguard/scoring/classifier"
)

// corpusMessage is one message of a corpus, parsed once, with its content
// rules score and its classifier tokens.
type corpusMessage struct {
	msg    *message.Message
	rules  float64
	tokens []string
}

type era struct {
	name      string
	ham, spam []corpusMessage
}

const folds = 5

// foldOf is the cross-validation fold of the i-th message of a folder in
// name order (messageFiles). Every figure of one corpus, ours or a peer's
// through -write-folds, uses it, so all are trained and tested alike.
func foldOf(i int) int { return i % folds }

// bayesReport measures the classifier by 5-fold cross-validation within
// each era (HAM SPAM pairs) and across eras (trained on all of one, tested
// on all of the other), alone (its spam probability) and added to the
// content rules (its band score), on an in-memory store.
func bayesReport(w io.Writer, o options, dirs []string) error {
	rs, err := rules.Load(o.ruleFiles, rules.Options{})
	if err != nil {
		return err
	}
	topt := classifier.TokenOptions{Bigrams: o.bigrams}
	var eras []era
	for i := 0; i < len(dirs); i += 2 {
		e := era{name: filepath.Dir(dirs[i])}
		if e.ham, err = loadCorpus(rs, dirs[i], topt); err != nil {
			return err
		}
		if e.spam, err = loadCorpus(rs, dirs[i+1], topt); err != nil {
			return err
		}
		eras = append(eras, e)
	}
	fmt.Fprintf(w, "classifier (bigrams %v), %d-fold cross-validation\n", o.bigrams, folds)
	for _, e := range eras {
		var hamP, spamP, hamC, spamC []float64
		var learnTime, classifyTime time.Duration
		var classified int
		for k := 0; k < folds; k++ {
			cl, st := newTrained(e.ham, e.spam, func(i int) bool { return foldOf(i) != k }, &learnTime)
			start := time.Now()
			hp, hc := judge(cl, e.ham, func(i int) bool { return foldOf(i) == k })
			sp, sc := judge(cl, e.spam, func(i int) bool { return foldOf(i) == k })
			classifyTime += time.Since(start)
			classified += len(hp) + len(sp)
			hamP, spamP = append(hamP, hp...), append(spamP, sp...)
			hamC, spamC = append(hamC, hc...), append(spamC, sc...)
			st.Close()
		}
		summarize(hamP, spamP, 99, 99.9).print(w, e.name+": classifier alone (score = 100 x probability)")
		summarize(hamC, spamC, o.addHeader, o.reject).print(w, e.name+": content rules + classifier")
		fmt.Fprintf(w, "  classify: %.1f µs/message beyond tokenizing (memory store); learn: %d messages in %.2fs\n\n",
			float64(classifyTime.Microseconds())/float64(classified), (len(e.ham)+len(e.spam))*(folds-1), learnTime.Seconds())
	}
	for _, train := range eras {
		for _, test := range eras {
			if train.name == test.name {
				continue
			}
			var lt time.Duration
			cl, st := newTrained(train.ham, train.spam, func(int) bool { return true }, &lt)
			hp, hc := judge(cl, test.ham, func(int) bool { return true })
			sp, sc := judge(cl, test.spam, func(int) bool { return true })
			st.Close()
			name := "trained on " + train.name + ", tested on " + test.name
			summarize(hp, sp, 99, 99.9).print(w, name+": classifier alone")
			summarize(hc, sc, o.addHeader, o.reject).print(w, name+": content rules + classifier")
			fmt.Fprintln(w)
		}
	}
	return nil
}

func loadCorpus(rs *rules.Ruleset, dir string, topt classifier.TokenOptions) ([]corpusMessage, error) {
	var out []corpusMessage
	err := eachScored(rs, dir, func(_ string, m *message.Message, hits []rules.Hit) {
		var score float64
		for _, h := range hits {
			score += h.Score
		}
		out = append(out, corpusMessage{msg: m, rules: score, tokens: classifier.Tokens(m, nil, topt)})
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no messages", dir)
	}
	return out, nil
}

// newTrained learns the messages in picks of ham and spam into a new
// memory store.
func newTrained(ham, spam []corpusMessage, pick func(int) bool, took *time.Duration) (*classifier.Classifier, store.Store) {
	st := store.NewMemory(nil)
	ctx := context.Background()
	start := time.Now()
	for isSpam, set := range map[bool][]corpusMessage{false: ham, true: spam} {
		for i, m := range set {
			if pick(i) {
				st.Learn(ctx, isSpam, m.tokens, 1)
			}
		}
	}
	*took += time.Since(start)
	cl, _ := classifier.New(classifier.Options{Store: st, MinLearns: 1})
	return cl, st
}

// judge returns, for the picked messages, the classifier's probability x
// 100 and the content score plus the band score.
func judge(cl *classifier.Classifier, set []corpusMessage, pick func(int) bool) (alone, combined []float64) {
	scores := classifier.DefaultScores()
	for i, m := range set {
		if !pick(i) {
			continue
		}
		v, err := cl.ClassifyTokens(context.Background(), m.tokens)
		if err != nil {
			continue
		}
		alone = append(alone, 100*v.Prob)
		combined = append(combined, m.rules+scores[classifier.Band(v.Prob)])
	}
	return alone, combined
}
