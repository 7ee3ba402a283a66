package rules

import (
	"strings"
	"testing"
	"time"

	"relayguard/rules/message"
)

// TestReferenceTimeAsMessageDoes holds referenceTime, with its faster date
// parsing, to message.ReferenceTime for the Received fields mail carries:
// plain dates, zone comments, dates net/mail reads some other way, none,
// an unreadable topmost one, one too far ahead of arrival.
func TestReferenceTimeAsMessageDoes(t *testing.T) {
	arrival := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		received []string
	}{
		{"plain date", []string{"from a by b; Fri, 27 Nov 2026 10:14:03 +0100"}},
		{"zone comment", []string{"from a by b; Fri, 27 Nov 2026 03:14:03 -0800 (PST)"}},
		{"long zone comment", []string{"by b; Fri, 27 Nov 2026 11:14:03 +0000 (Coordinated Universal Time)"}},
		{"comment with more after it", []string{"by b; Fri, 27 Nov 2026 11:14:03 +0000 (UTC) x"}},
		{"no day name", []string{"by b; 27 Nov 2026 11:14:03 +0900"}},
		{"obsolete zone", []string{"by b; Fri, 27 Nov 2026 11:14:03 GMT"}},
		{"31 February", []string{"by b; Sat, 31 Feb 2026 10:00:00 +0100 (CET)"}},
		{"no date", []string{"from a by b"}},
		{"unreadable then readable", []string{"by b; yesterday", "by c; Fri, 27 Nov 2026 09:00:00 +0100 (CET)"}},
		{"ahead of arrival", []string{"by b; Sat, 28 Nov 2026 09:00:00 +0100 (CET)", "by c; Fri, 27 Nov 2026 09:00:00 +0100"}},
		{"no Received", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var raw strings.Builder
			for _, r := range tc.received {
				raw.WriteString("Received: " + r + "\r\n")
			}
			raw.WriteString("From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n")
			m := message.ParseMessage(strings.NewReader(raw.String()), int64(raw.Len()))
			got := referenceTime(m, arrival)
			want := message.ReferenceTime(m, arrival)
			if !got.Equal(want) || got.Location().String() != want.Location().String() {
				t.Errorf("referenceTime = %v, message.ReferenceTime = %v", got, want)
			}
		})
	}
}

// BenchmarkReferenceTime: the Received date of most mail ("+0100 (CET)"),
// read by net/mail's layouts (message) and by referenceTime's shortcut.
func BenchmarkReferenceTime(b *testing.B) {
	raw := "Received: from a by b; Fri, 27 Nov 2026 10:14:03 +0100 (CET)\r\nFrom: a@example.com\r\n\r\nbody\r\n"
	m := message.ParseMessage(strings.NewReader(raw), int64(len(raw)))
	arrival := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, bc := range []struct {
		name string
		fn   func(*message.Message, time.Time) time.Time
	}{{"message", message.ReferenceTime}, {"rules", referenceTime}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.fn(m, arrival)
			}
		})
	}
}
