package fit

import (
	"strings"
	"testing"
)

func TestReadVerdicts(t *testing.T) {
	in := `{"file":"a.eml","score":12.5,"action":"add_header","symbols":[{"name":"HTML_ONLY","score":1.5,"detail":"x"},{"name":"PHRASE_FREE","score":0.8}]}

{"file":"b.eml","score":0,"action":"accept","symbols":[],"failed":["dnsbl"]}
{"file":"c.eml","score":3,"action":"accept","symbols":[{"name":"PHRASE_FREE","score":1.8}]}
`
	vs, err := ReadVerdicts(strings.NewReader(in), "ham.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 || vs[0].File != "a.eml" || *vs[0].Score != 12.5 || len(vs[0].Symbols) != 2 || len(vs[1].Symbols) != 0 {
		t.Fatalf("read %+v", vs)
	}
	ex := Examples(vs, "old", true)
	if len(ex) != 3 || !ex[0].Spam || ex[0].Set != "old" || ex[0].Score != 12.5 || strings.Join(ex[0].Symbols, ",") != "HTML_ONLY,PHRASE_FREE" {
		t.Errorf("examples %+v", ex)
	}
	// The hand score of a phrase rule is the largest it scored.
	if h := HandScores(vs); h["PHRASE_FREE"] != 1.8 || h["HTML_ONLY"] != 1.5 {
		t.Errorf("hand scores %v", h)
	}
}

func TestReadVerdictsErrorsNameTheLine(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"truncated", "{\"file\":\"a\",\"score\":1,\"symbols\":[]}\n\n{\"file\":\"b\",\"score\":", "spam.json:3: not a check --json line"},
		{"text report", "{\"file\":\"a\",\"score\":1}\nspam/1.eml\n", "spam.json:2: not a check --json line"},
		{"no score", "{\"file\":\"a\",\"action\":\"accept\"}\n", "spam.json:1: no \"score\""},
		{"nameless symbol", "{\"file\":\"a\",\"score\":1,\"symbols\":[{\"score\":2}]}\n", "spam.json:1: symbol 1 has no name"},
		{"score as text", "{\"file\":\"a\",\"score\":\"1\"}\n", "spam.json:1: not a check --json line"},
	} {
		_, err := ReadVerdicts(strings.NewReader(c.in), "spam.json")
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want prefix %q", c.name, err, c.want)
		}
	}
}
