package classifier

import (
	"slices"
	"strings"
	"testing"
)

func TestCutListFooter(t *testing.T) {
	google := "-- \nYou received this message because you are subscribed to the Google Groups \"Example\" group.\nTo unsubscribe from this group and stop receiving emails from it, send an email to example+unsubscribe@googlegroups.com.\n"
	mailman := "_______________________________________________\nExample-talk mailing list\nExample-talk@lists.example.org\nhttps://lists.example.org/mailman/listinfo/example-talk\n"
	for name, c := range map[string]struct{ text, body, footer string }{
		"google groups footer": {"The patch looks fine.\n\n" + google, "The patch looks fine.\n\n", google[4:]},
		"mailman footer":       {"See you there.\n" + mailman, "See you there.\n", mailman[48:]},
		// The author's own signature stays: only the last block, and only
		// when it reads as a list's, is cut.
		"signature then footer": {"Hi\n-- \nJan\n" + google, "Hi\n-- \nJan\n", google[4:]},
		"signature only":        {"Hi\n-- \nJan Example\nExample Corp\n", "Hi\n-- \nJan Example\nExample Corp\n", ""},
		"no separator":          {"To unsubscribe, reply STOP\n", "To unsubscribe, reply STOP\n", ""},
		// A long tail after a separator is the message, not a footer.
		"long tail": {"Hi\n-- \n" + strings.Repeat("unsubscribe words ", 100), "Hi\n-- \n" + strings.Repeat("unsubscribe words ", 100), ""},
		"empty":     {"", "", ""},
	} {
		t.Run(name, func(t *testing.T) {
			body, footer := cutListFooter(c.text)
			if body != c.body || footer != c.footer {
				t.Errorf("cut = %q | %q\nwant  %q | %q", body, footer, c.body, c.footer)
			}
		})
	}
}

// A list's footer is the same on every post: on list mail it must not
// become tokens (the classifier would learn the list, not the mail); on
// other mail the same words count as any words do.
func TestListFooterIsNotTokenized(t *testing.T) {
	body := "The interrupt remapping patch looks fine to me.\n" +
		"-- \nYou received this message because you are subscribed to the Google Groups \"Example\" group.\n" +
		"To unsubscribe visit https://groups.example.com/d/optout\n"
	list := parse("From: Jan <jan@example.org>\nTo: dev@lists.example.com\nList-Id: <dev.lists.example.com>\nSubject: Re: [Example-dev] review\n\n" + body)
	plain := parse("From: Jan <jan@example.org>\nTo: dev@example.com\nSubject: Re: [Example-dev] review\n\n" + body)
	lf, pf := Features(list, nil, TokenOptions{}), Features(plain, nil, TokenOptions{})
	for _, tok := range []string{"subscribed", "unsubscribe", "h:groups.example.com", "s:example"} {
		if slices.Contains(lf, tok) {
			t.Errorf("list mail has the footer's token %q", tok)
		}
		if !slices.Contains(pf, tok) {
			t.Errorf("mail without list headers lacks %q: only list footers are cut", tok)
		}
	}
	for _, tok := range []string{"interrupt", "remapping", "s:review"} {
		if !slices.Contains(lf, tok) {
			t.Errorf("list mail lost the body's token %q", tok)
		}
	}
}

func TestWithoutSubjectTags(t *testing.T) {
	for in, want := range map[string]string{
		"[ILUG] Re: boot loader":   "  Re: boot loader",
		"Re: [SAtalk] [PATCH] fix": "Re:     fix",
		"no tags":                  "no tags",
		"unclosed [tag":            "unclosed [tag",
		"[]":                       " ",
	} {
		if got := withoutSubjectTags(in); got != want {
			t.Errorf("withoutSubjectTags(%q) = %q, want %q", in, got, want)
		}
	}
}
