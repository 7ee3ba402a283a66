package rules

import (
	"mime"
	"strings"
	"testing"
)

// TestObfuscationRules: each obfuscation rule on the disguise it is for,
// and, beside it, the legitimate mail that uses the same characters for
// their own purpose (emoji sequences, flags, right-to-left signatures,
// Persian joiners, hyphenation, Japanese full-width letters, decomposed
// accents) and must be left alone.
func TestObfuscationRules(t *testing.T) {
	rs := defaultRuleset(t)
	enc := func(s string) string { return mime.BEncoding.Encode("utf-8", s) }
	utf8Body := "Content-Type: text/plain; charset=utf-8\nMIME-Version: 1.0"
	all := []string{"SUBJ_INVISIBLE_CHARS", "FROM_NAME_INVISIBLE_CHARS", "BODY_INVISIBLE_CHARS", "BODY_BIDI_CONTROL",
		"SUBJ_STYLED_LETTERS", "FROM_NAME_STYLED_LETTERS", "BODY_STYLED_LETTERS", "SUBJ_COMBINING_MARKS", "BODY_COMBINING_MARKS"}
	tests := []struct {
		name   string
		header string
		body   string
		fire   []string
		match  map[string]string
		silent []string // "all": none of the rules above
	}{
		// ---- the disguises
		{
			name:   "zero-width space inside a brand in the subject",
			header: "Subject: " + enc("Your Pay\u200bPal account is limited"),
			fire:   []string{"SUBJ_INVISIBLE_CHARS"},
			match:  map[string]string{"SUBJ_INVISIBLE_CHARS": "Pay<U+200B>Pal"},
		},
		{
			name:   "combining grapheme joiner before the first word of the subject",
			header: "Subject: " + enc("\u034fjohn, Zahlungsbestätigung: 500 € für Sie"),
			fire:   []string{"SUBJ_INVISIBLE_CHARS"},
		},
		{
			name:   "soft hyphens in the sender's name",
			header: "From: " + enc("Net\u00adflix Sup\u00adport") + " <billing@mailer.example>",
			fire:   []string{"FROM_NAME_INVISIBLE_CHARS"},
		},
		{
			name:   "words of the text split by zero-width characters",
			header: utf8Body,
			body:   "Ihr Kon\u200bto wurde ge\u200dsperrt. Bitte be\u2060stätigen Sie Ihre Daten.\n",
			fire:   []string{"BODY_INVISIBLE_CHARS"},
		},
		{
			name:   "right-to-left override inside a Latin word",
			header: utf8Body,
			body:   "Open the attached invoice\u202efdp.exe to see your statement.\n",
			fire:   []string{"BODY_BIDI_CONTROL"},
			match:  map[string]string{"BODY_BIDI_CONTROL": "invoice<U+202E>fdp"},
		},
		{
			name:   "mathematical bold subject",
			header: "Subject: " + enc("𝐘𝐨𝐮𝐫 𝐚𝐜𝐜𝐨𝐮𝐧𝐭 𝐰𝐢𝐥𝐥 𝐛𝐞 𝐜𝐥𝐨𝐬𝐞𝐝"),
			fire:   []string{"SUBJ_STYLED_LETTERS"},
		},
		{
			name:   "regional indicators spelling a word",
			header: "Subject: " + enc("🇵🇦🇾🇵🇦🇱 alert"),
			fire:   []string{"SUBJ_STYLED_LETTERS"},
		},
		{
			name:   "circled letters in the sender's name",
			header: "From: " + enc("Ⓐⓜⓐⓩⓞⓝ") + " <x@mailer.example>",
			fire:   []string{"FROM_NAME_STYLED_LETTERS"},
		},
		{
			name:   "sans-serif bold paragraph",
			header: utf8Body,
			body:   "𝗖𝗹𝗮𝗶𝗺 𝘆𝗼𝘂𝗿 𝗿𝗲𝘄𝗮𝗿𝗱 𝗻𝗼𝘄\n",
			fire:   []string{"BODY_STYLED_LETTERS"},
		},
		{
			name:   "stacked combining marks (Zalgo) in the subject",
			header: "Subject: " + enc("Ve\u0301\u0302\u0303rify your ac\u0336count"),
			fire:   []string{"SUBJ_COMBINING_MARKS"},
		},
		{
			name:   "strike-through marks over every letter of the text",
			header: utf8Body,
			body:   "P\u0336a\u0336y\u0336P\u0336a\u0336l\u0336 security notice\n",
			fire:   []string{"BODY_COMBINING_MARKS"},
		},
		// ---- the same characters in legitimate mail
		{
			name:   "English mail with emoji and a ZWJ family in the subject",
			header: "Subject: " + enc("Family photos 👨\u200d👩\u200d👧 from the weekend 🎉❤️") + "\n" + utf8Body,
			body:   "Hi all 👋, the pictures 👨\u200d👩\u200d👧\u200d👦 are in the shared album. 🏳️\u200d🌈 parade next week!\n",
			silent: []string{"all"},
		},
		{
			name:   "newsletter with flags and emoji in the subject",
			header: "Subject: " + enc("🇧🇷🇵🇹 Ofertas de verão ☀️ até 40% — só esta semana") + "\n" + utf8Body,
			body:   "Envios para 🇧🇷 Brasil e 🇵🇹 Portugal. 🇪🇺\n",
			silent: []string{"all"},
		},
		{
			name:   "Arabic and Hebrew signatures with their own bidi marks",
			header: utf8Body,
			body: "Thanks for the review, I will send v2 tomorrow.\n\n-- \nAhmed Khalil\u200f\n" +
				"مع تحياتي\u200f، \u200fأحمد خليل\u200f\n\u2067دוד כהן\u2069 (David Cohen)\nבברכה\u200f,\u200f דוד\n",
			silent: []string{"all"},
		},
		{
			name:   "Persian text with zero-width non-joiners",
			header: utf8Body,
			body:   "می\u200cخواهم این را بفرستم. نامه\u200cها را خواندم و کتاب\u200cها رسید.\n",
			silent: []string{"all"},
		},
		{
			name:   "German newsletter hyphenated with soft hyphens",
			header: "Subject: " + enc("Herbstangebote: Grüße aus München") + "\n" + utf8Body,
			body: "Liebe Kundin, lieber Kunde,\n\nunsere Sonder\u00adan\u00adge\u00adbo\u00adte für Haus\u00adhalts\u00adge\u00adrä\u00adte " +
				"und Fahr\u00adrad\u00adzu\u00adbe\u00adhör gelten bis Sonntag. Wir müssen Ihnen außerdem mitteilen, dass sich unsere " +
				"Öffnungszeiten ändern.\n\nMit freundlichen Grüßen\nIhr Team\n",
			silent: []string{"all"},
		},
		{
			name:   "zero-width non-joiners that stop address auto-linking",
			header: utf8Body,
			body:   "Visit us at 1600\u200c Main Street or shop.example\u200c.com, open 9\u200c–17.\n",
			silent: []string{"all"},
		},
		{
			name:   "Japanese mail with full-width Latin letters and digits",
			header: "Subject: " + enc("ＰＤＦファイルの送付（２０２４年度）") + "\n" + utf8Body,
			body:   "お世話になっております。ＰＤＦファイルとＵＲＬを送ります。ＡＢＣ株式会社の資料１２３です。\n",
			silent: []string{"all"},
		},
		{
			name:   "decomposed accents (NFD) from a Mac mailer",
			header: "Subject: " + enc("Gru\u0308\u00dfe aus Ko\u0308ln, re\u0301sume\u0301 attached") + "\n" + utf8Body,
			body:   "Vie\u0301t Nam, cafe\u0301, Mu\u0308ller, Sa\u0303o Paulo, ac\u0327a\u0303o, na\u0308chste Woche.\n",
			silent: []string{"all"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hitsOf(rs, parse(mkmail(tt.header, tt.body)))
			for _, n := range tt.fire {
				if _, ok := got[n]; !ok {
					t.Errorf("%s did not fire; fired: %v", n, names(got))
				}
			}
			for n, want := range tt.match {
				if h := got[n]; !strings.Contains(h.Match, want) {
					t.Errorf("%s match = %q, want it to contain %q", n, h.Match, want)
				}
			}
			silent := tt.silent
			if len(silent) == 1 && silent[0] == "all" {
				silent = all
			}
			for _, n := range silent {
				if h, ok := got[n]; ok {
					t.Errorf("%s fired (%q); it should not", n, h.Match)
				}
			}
		})
	}
}
