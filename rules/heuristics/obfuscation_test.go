package heuristics

import "testing"

// FuzzScanMarks: any text, valid UTF-8 or not, is scanned without a panic
// and with counts that make sense (the examples exist when the counts do).
func FuzzScanMarks(f *testing.F) {
	for _, s := range []string{"Pay\u200bPal", "𝐏𝐚𝐲", "🇵🇦🇾", "🇧🇷🇵🇹", "a\u0301\u0302", "ＰＤＦファイル", "\ufeff\u034fx", "שלום\u200f", "\xff\u202e"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, header bool) {
		m := scanMarks(s, header)
		if m.invisible < 0 || m.invisibleWords < 0 || m.bidi < 0 || m.styled < 0 || m.marked < 0 {
			t.Fatalf("negative count %+v for %q", m, s)
		}
		if m.bidi > 0 && m.bidiEx == "" || m.styled > 0 && m.styledEx == "" || m.marked > 0 && m.markedEx == "" {
			t.Fatalf("count without example %+v for %q", m, s)
		}
	})
}
