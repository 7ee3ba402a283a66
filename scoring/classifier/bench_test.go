package classifier

import (
	"context"
	"fmt"
	"testing"

	"relayguard/internal/store"
)

func benchClassifier(b *testing.B) *Classifier {
	c, err := New(Options{Store: store.NewMemory(nil), MinLearns: 1})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := range 500 {
		c.Learn(ctx, mail(fmt.Sprint("s", i), "winner prize", fmt.Sprintf("claim your lottery prize money now at http://win%d.example/ %d", i%50, i)), nil, true)
		c.Learn(ctx, mail(fmt.Sprint("h", i), "meeting notes", fmt.Sprintf("the patch review meeting is moved to thursday, see https://lists.example/%d", i)), nil, false)
	}
	return c
}

// BenchmarkClassifyTokens is the classifier's own cost per message beyond
// tokenizing: the store read (memory) and the combiner.
func BenchmarkClassifyTokens(b *testing.B) {
	c := benchClassifier(b)
	toks := Tokens(mail("x", "winner prize meeting", benchBody), nil, TokenOptions{})
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.ClassifyTokens(context.Background(), toks); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(toks)), "tokens")
}

// BenchmarkTokenize is the tokenizer on a parsed message (text decoded
// once, as the content rules already did).
func BenchmarkTokenize(b *testing.B) {
	m := mail("x", "winner prize meeting", benchBody)
	m.VisibleText()
	for b.Loop() {
		Tokens(m, nil, TokenOptions{})
	}
}

// BenchmarkLearn is learning throughput into the memory store, messages
// already tokenized.
func BenchmarkLearn(b *testing.B) {
	st := store.NewMemory(nil)
	toks := Tokens(mail("x", "winner prize meeting", benchBody), nil, TokenOptions{})
	for b.Loop() {
		st.Learn(context.Background(), true, toks, 1)
	}
}

var benchBody = func() string {
	s := ""
	for i := range 60 {
		s += fmt.Sprintf("claim your lottery prize money now, the patch review meeting %d is moved to thursday. ", i)
	}
	return s + "http://win1.example/ https://lists.example/3"
}()
