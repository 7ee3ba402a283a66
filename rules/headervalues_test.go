package rules

import "testing"

// TestHeaderValuesAsHeaderValue holds the per-evaluation header values to
// headerValue itself: every header and part asked, repeated, in an order
// that fills the eight kept entries and goes past them.
func TestHeaderValuesAsHeaderValue(t *testing.T) {
	m := parse("From: \"Jo Smith\" <jo@example.com>, b@example.org\n" +
		"To: x@example.net\n" +
		"Subject: first =?utf-8?q?caf=C3=A9?=\n" +
		"Subject: second\n" +
		"X-Priority: 1 (Highest)\n" +
		"Message-ID: <a@b>\n" +
		"\n" +
		"body\n")
	asks := [][2]string{
		{"Subject", ""}, {"Subject", ""}, {"From", "addr"}, {"From", "name"}, {"From", ""},
		{"X-Priority", ""}, {"Message-ID", ""}, {"To", "addr"}, {"ALL", ""}, {"subject", ""},
		{"Missing", ""}, {"To", "name"}, {"Subject", ""}, {"From", "addr"}, {"Missing", ""},
	}
	var hv headerValues
	for _, a := range asks {
		got := hv.value(m, a[0], a[1])
		if want := headerValue(m, a[0], a[1]); got != want {
			t.Errorf("value(%s, %q) = %q, headerValue gives %q", a[0], a[1], got, want)
		}
	}
	if hv.n != len(hv.kept) {
		t.Errorf("%d values kept, want the first %d distinct ones", hv.n, len(hv.kept))
	}
}
