package filter

import (
	"strings"
	"testing"
)

// clipReference is clip as it was written first: every reply text is
// rebuilt from its fields.
func clipReference(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n]
	}
	return s
}

func TestClipPutsReplyTextOnOneTidyLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2.0.0 Ok: queued as ABC", "2.0.0 Ok: queued as ABC"},
		{"OK id=1vJ3kQ-000Abc-2x", "OK id=1vJ3kQ-000Abc-2x"},
		{" leading space", "leading space"},
		{"trailing space ", "trailing space"},
		{"two  spaces", "two spaces"},
		{"line\r\nbreak", "line break"},
		{"tab\there", "tab here"},
		{"no\u00a0break", "no break"},
		{"", ""},
		{strings.Repeat("x", 250), strings.Repeat("x", 200)},
	} {
		if got := clip(tc.in, 200); got != tc.want {
			t.Errorf("clip(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzClip(f *testing.F) {
	for _, s := range []string{"2.0.0 Ok: queued as ABC", " a  b ", "a\r\nb", "x\u2003y", "\xff \x85"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := clip(s, 200), clipReference(s, 200); got != want {
			t.Fatalf("clip(%q) = %q, want %q", s, got, want)
		}
	})
}
