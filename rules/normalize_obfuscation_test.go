package rules

import "testing"

// TestNormaliseUndoesObfuscation: the disguises the obfuscation rules
// score (bidi controls and invisible marks inside words, styled letters,
// combining marks drawn over Latin letters) no longer hide a phrase, while
// the letters of German, Portuguese, Spanish, French and Dutch, right-to-left
// text and emoji come through as they are.
func TestNormaliseUndoesObfuscation(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"math bold", "𝐏𝐚𝐲𝐏𝐚𝐥", " paypal "},
		{"math sans bold italic", "𝙋𝙖𝙮𝙋𝙖𝙡 account", " paypal account "},
		{"math monospace digits", "𝚌𝚘𝚍𝚎 𝟷𝟸𝟹", " code 123 "},
		{"circled letters", "ⓅⓐⓨⓅⓐⓛ", " paypal "},
		{"negative squared letters", "🅿🅰🆈🅿🅰🅻", " paypal "},
		{"regional indicators as letters", "🇵🇦🇾🇵🇦🇱", " paypal "},
		{"full-width", "ＰａｙＰａｌ", " paypal "},
		{"right-to-left override inside a word", "Pay\u202ePal\u202c", " paypal "},
		{"left-to-right mark inside a word", "Pay\u200ePal", " paypal "},
		{"isolate inside a word", "Net\u2066flix\u2069", " netflix "},
		{"soft hyphens", "Pay\u00adPal Kon\u00adto", " paypal konto "},
		{"combining grapheme joiner", "Pay\u034fPal", " paypal "},
		{"strike-through marks", "P\u0336a\u0336y\u0336P\u0336a\u0336l\u0336", " paypal "},
		{"stacked marks (Zalgo)", "Pa\u0300\u0301\u0302\u0303yPal", " paypal "},
		{"decomposed accents compose", "Gru\u0308\u00dfe", " grüße "},
		// Letters of real languages survive.
		{"German umlauts", "Wir müssen Ihnen Grüße schicken, Größe", " wir müssen ihnen grüße schicken größe "},
		{"German capital umlauts", "ÄNDERUNG ÜBER", " änderung über "},
		{"Portuguese", "Você não está à vontade, ação", " você não está à vontade ação "},
		{"Spanish", "Señor, ¿cómo está? Año", " señor cómo está año "},
		{"French", "Reçu élève où naïve cœur", " reçu élève où naïve cœur "},
		{"Dutch ij", "IJsselmeer bij de ĳs", " ijsselmeer bij de ijs "},
		{"Italian", "Perché città è", " perché città è "},
		{"Vietnamese", "Việt Nam", " việt nam "},
		{"Hebrew with marks", "שלום\u200f עולם", " שלום עולם "},
		{"Arabic", "مرحبا بكم", " مرحبا بكم "},
		{"Hindi keeps its vowel signs", "नमस्ते", " नमस्ते "},
		{"emoji family in a subject", "Family news 👨\u200d👩\u200d👧 inside", " family news inside "},
		{"flag emoji", "Olá 🇧🇷 amigos", " olá br amigos "},
	}
	for _, tt := range tests {
		got, _ := normaliseWords(tt.in, false)
		if string(got) != tt.want {
			t.Errorf("%s: normaliseWords(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// TestPhrasesMatchThroughObfuscation: a phrase from a rule file is found
// when written with the disguises, since both go through one normaliser.
func TestPhrasesMatchThroughObfuscation(t *testing.T) {
	want := normalisePhrase("sua conta foi bloqueada")
	for _, in := range []string{
		"Sua conta foi bloqueada",
		"S\u200bua co\u200dnta foi blo\u00adqueada",
		"𝐒𝐮𝐚 𝐜𝐨𝐧𝐭𝐚 𝐟𝐨𝐢 𝐛𝐥𝐨𝐪𝐮𝐞𝐚𝐝𝐚",
		"Sua con\u202eta foi bloqueada",
		"Sua co\u0336nta foi bloqueada",
	} {
		got, _ := normaliseWords(in, false)
		if string(got) != want {
			t.Errorf("normaliseWords(%q) = %q, want %q", in, got, want)
		}
	}
}
