package message

import "testing"

// FuzzParseDate holds ParseDate's shortcut to the full path (parseDateFull): the same
// verdict and the same instant and offset for any text.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"Thu, 26 Nov 2026 09:14:03 +0100", "Mon, 2 Jan 2006 15:04:05 -0700", " Fri, 1 Mar 2024 23:59:59 +0000 ", "Sat, 31 Feb 2026 10:00:00 +0100", "Xyz, 26 Nov 2026 09:14:03 +0100", "Thu, 26 Nov 2026 25:14:03 +0100", "Thu, 26 Nov 2026 09:14:03 +9999", "26 Nov 2026 09:14:03 +0100", "Thu, 26 Nov 2026 09:14:03 +0100 (CET)", "Fri, 1 Mar 2024 23:59:59 -0800  (Pacific Standard Time)", "Sat, 31 Feb 2026 10:00:00 +0100 (CET)", "Thu, 26 Nov 2026 09:14:03 +0100 (CET) x", "Thu, 26 Nov 2026 09:14:03 +0100 ((CET))", "Thu, 26 Nov 2026 09:14:03 +0100 ()", "Thu, 26 Nov 2026 09:14:03 +0100(UTC)", "Thu, 26 Nov 26 09:14:03 GMT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gotOK := ParseDate(s)
		want, wantOK := parseDateFull(s)
		_, gotOff := got.Zone()
		_, wantOff := want.Zone()
		if gotOK != wantOK || !got.Equal(want) || gotOff != wantOff || got.Location().String() != want.Location().String() {
			t.Fatalf("ParseDate(%q) = %v %v, parseDateFull %v %v", s, got, gotOK, want, wantOK)
		}
	})
}
