package heuristics

import (
	"fmt"
	"relayguard/internal/mailaddr"
	"relayguard/rules/message"
	"strings"
	"time"
	"unicode"
)

// Heuristics that read the header fields.

func dateMissing(in *Input) (string, bool) {
	return "", !in.Msg.Header.Has("Date")
}

func dateInvalid(in *Input) (string, bool) {
	v := in.Msg.Header.Get("Date")
	if v == "" {
		return "", false
	}
	_, ok := headerDate(in)
	return v, !ok
}

type dateKey struct{}

type parsedDate struct {
	t  time.Time
	ok bool
}

// headerDate is the Date header parsed once per message: three rules read
// it, and a date in an unusual layout costs a failed parse per layout tried.
func headerDate(in *Input) (time.Time, bool) {
	d := in.Msg.Memo(dateKey{}, func() any {
		t, ok := message.ParseDate(in.Msg.Header.Get("Date"))
		return parsedDate{t, ok}
	}).(parsedDate)
	return d.t, d.ok
}

func dateOffset(in *Input) (time.Duration, string, bool) {
	v := in.Msg.Header.Get("Date")
	t, ok := headerDate(in)
	if !ok {
		return 0, "", false
	}
	return t.Sub(in.Arrival()), v, true
}

func dateFuture(in *Input) (string, bool) {
	d, v, ok := dateOffset(in)
	if ok && d >= time.Duration(in.Min*float64(time.Hour)) {
		return fmt.Sprintf("%s (%s ahead)", v, roundHours(d)), true
	}
	return "", false
}

func datePast(in *Input) (string, bool) {
	d, v, ok := dateOffset(in)
	if ok && -d >= time.Duration(in.Min*float64(time.Hour)) {
		return fmt.Sprintf("%s (%s before arrival)", v, roundHours(-d)), true
	}
	return "", false
}

func roundHours(d time.Duration) string {
	h := d.Hours()
	if h >= 48 {
		return fmt.Sprintf("%.0f days", h/24)
	}
	return fmt.Sprintf("%.0f hours", h)
}

func msgidMissing(in *Input) (string, bool) {
	return "", strings.TrimSpace(in.Msg.Header.Get("Message-ID")) == ""
}

// fromNameOtherAddr finds From: "support@bank.example" <x@evil.example>:
// the reader sees an address that is not the sender's.
func fromNameOtherAddr(in *Input) (string, bool) {
	from, ok := in.Msg.FirstAddress("From")
	if !ok || from.Name == "" {
		return "", false
	}
	shown := message.FindEmail(from.Name)
	if shown == "" {
		return "", false
	}
	shown = strings.ToLower(shown)
	if shown == from.Addr || registeredDomain(mailaddr.Domain(shown)) == registeredDomain(from.Domain()) {
		return "", false
	}
	return fmt.Sprintf("shows %s, is %s", shown, from.Addr), true
}

// replyToFreemail: answers go to a free-mail box while the message claims
// to come from somewhere else, a mark of advance-fee and phishing mail.
func replyToFreemail(in *Input) (string, bool) {
	rt, ok := in.Msg.FirstAddress("Reply-To")
	if !ok {
		return "", false
	}
	from, _ := in.Msg.FirstAddress("From")
	rd := rt.Domain()
	if !in.Domains[rd] && !in.Domains[registeredDomain(rd)] {
		return "", false
	}
	if registeredDomain(rd) == registeredDomain(from.Domain()) {
		return "", false
	}
	return rt.Addr, true
}

func subjEmpty(in *Input) (string, bool) {
	return "", strings.TrimSpace(in.Msg.HeaderText("Subject")) == ""
}

func subjAllCaps(in *Input) (string, bool) {
	s := in.Msg.HeaderText("Subject")
	letters := 0
	for _, c := range s {
		if unicode.IsLower(c) {
			return "", false
		}
		if unicode.IsUpper(c) {
			letters++
		}
	}
	if float64(letters) >= in.Min {
		return s, true
	}
	return "", false
}

func rcptsMany(in *Input) (string, bool) {
	n := len(in.Msg.HeaderAddresses("To")) + len(in.Msg.HeaderAddresses("Cc"))
	if float64(n) >= in.Min {
		return fmt.Sprintf("%d recipients in To and Cc", n), true
	}
	return "", false
}

// toUndisclosed: no To at all, or an empty group (undisclosed-recipients:;),
// the mark of mail sent to a list of Bcc addresses.
func toUndisclosed(in *Input) (string, bool) {
	v := strings.TrimSpace(in.Msg.Header.Get("To"))
	if v == "" {
		return "no To", true
	}
	if strings.HasSuffix(v, ":;") || strings.HasSuffix(v, ": ;") {
		return v, true
	}
	return "", false
}

// fakeReply: "Re:" in the subject of a message that answers nothing, a
// trick to look like part of a conversation.
func fakeReply(in *Input) (string, bool) {
	s := strings.TrimSpace(in.Msg.HeaderText("Subject"))
	if len(s) < 3 || !strings.EqualFold(s[:3], "re:") {
		return "", false
	}
	if in.Msg.Header.Has("In-Reply-To") || in.Msg.Header.Has("References") {
		return "", false
	}
	return s, true
}

// subjGreetsRcpt: the subject opens with the recipient's mailbox name
// ("jsmith, your account..."), mail merged from a list of addresses.
func subjGreetsRcpt(in *Input) (string, bool) {
	to, ok := in.Msg.FirstAddress("To")
	if !ok {
		return "", false
	}
	local, _, _ := strings.Cut(to.Addr, "@")
	if len(local) < 3 {
		return "", false
	}
	s := strings.ToLower(strings.TrimSpace(in.Msg.HeaderText("Subject")))
	rest, ok := strings.CutPrefix(s, local)
	if !ok || rest == "" {
		return "", false
	}
	switch rest[0] {
	case ',', ':', '!', '-', ';':
		return in.Msg.HeaderText("Subject"), true
	}
	return "", false
}
