package message

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// checkTagReader tokenizes src and compares, for every tag the tagReader
// reads itself, its name and attributes with the tokenizer's TagName and
// TagAttr. It returns how many tags it read itself.
func checkTagReader(t *testing.T, src string) int {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(src))
	var tr tagReader
	own := 0
	for n := 0; n < 10000; n++ {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		if tt != html.StartTagToken && tt != html.EndTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		raw := string(z.Raw())
		tr.low = make([]byte, 0, 2*len(raw))
		name, attrs, ok := tr.read([]byte(raw), tt, nil)
		wantName, more := z.TagName()
		want := readAttrs(z, more, nil)
		if tt == html.EndTagToken {
			want = nil
		}
		if !ok {
			continue
		}
		own++
		if !bytes.Equal(name, wantName) {
			t.Fatalf("tag %q: name %q, tokenizer %q", raw, name, wantName)
		}
		if len(attrs) != len(want) {
			t.Fatalf("tag %q: %d attributes %q, tokenizer %d %q", raw, len(attrs), attrs, len(want), want)
		}
		for i := range attrs {
			if !bytes.Equal(attrs[i].k, want[i].k) || !bytes.Equal(attrs[i].v, want[i].v) {
				t.Fatalf("tag %q: attribute %d %q=%q, tokenizer %q=%q", raw, i, attrs[i].k, attrs[i].v, want[i].k, want[i].v)
			}
		}
	}
	return own
}

var tagReaderSeeds = []string{
	`<a href="https://x.example/?a=1">x</a>`,
	`<IMG SRC=http://x.example/a.gif Width=1 height = '2' ALT="a > b">`,
	`<br/><p a=/><div =x y= z="1" z="2" Z=3>`,
	`<td bgcolor=#ffffff style="display:none" hidden>t</td >`,
	`<font size=+2 color="red"/ >big</font/x>`,
	`<a href='x' href="y" / >`, `<input type=password name=p>`,
	`<x-y:z a-b=c  d	e=f>`, `</a b=c>`, `<a href="&amp;x">`, "<a\rhref=x>", `<a href="x`,
	`<form action=https://evil.example/post method=POST><input type=image src=i.png></form>`,
	`<script>if (a<b) x()</script><style>p{}</style><title>x</title>`,
}

// TestTagReaderMatchesTokenizer holds tagReader to x/net/html on the
// shapes of tag mail has: case, quotes, duplicates, self-closing slashes.
func TestTagReaderMatchesTokenizer(t *testing.T) {
	own := 0
	for _, s := range tagReaderSeeds {
		own += checkTagReader(t, s)
	}
	if own < 20 {
		t.Errorf("tagReader read %d tags itself; the fast path is not taken", own)
	}
}

func FuzzTagReader(f *testing.F) {
	for _, s := range tagReaderSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		checkTagReader(t, src)
	})
}
