package rules

import (
	"mime"
	"strings"
	"testing"
)

// TestLanguageLures: the lure phrase lists in six languages, each on a lure
// of its theme, and beside them the mail in those languages that talks
// about the same things for real: a colleague on a bank holiday and a tax
// meeting, a bank's own statement notice, a retailer's newsletter with a
// prize draw, an invoice reminder, shipping notices, a tax office notice.
// Lures must score; the real mail must stay far below add_header.
func TestLanguageLures(t *testing.T) {
	rs := defaultRuleset(t)
	enc := func(s string) string { return mime.QEncoding.Encode("utf-8", s) }
	hdr := func(subject string) string {
		return "Subject: " + enc(subject) + "\nContent-Type: text/plain; charset=utf-8\nMIME-Version: 1.0"
	}
	lures := []struct {
		name, subject, body string
		fire                []string
	}{
		{"pt bank", "Aviso importante", "Prezado cliente, sua conta foi bloqueada por segurança. Para evitar o bloqueio definitivo, atualize seus dados no link abaixo.",
			[]string{"PHRASE_INTL_BANK"}},
		{"pt parcel", "Sua encomenda foi taxada!", "Olá, sua encomenda está retida na unidade de fiscalização. Pague a taxa de importação para a liberação da encomenda.",
			[]string{"PHRASE_INTL_PARCEL"}},
		{"pt tax", "Receita Federal - CPF irregular", "Seu CPF será cancelado. Regularize seu CPF até amanhã para receber a restituição do imposto de renda.",
			[]string{"PHRASE_INTL_TAX"}},
		{"pt toll (Portugal)", "Portagens em atraso", "Tem portagens em atraso. Pague a portagem em dívida em 48 horas para evitar coima.",
			[]string{"PHRASE_INTL_TOLL"}},
		{"es parcel and bank", "Entrega en curso", "Su paquete está retenido en aduana. Confirma tus datos de entrega y paga los gastos de aduana.",
			[]string{"PHRASE_INTL_PARCEL"}},
		{"es toll", "Aviso de peaje", "Tiene un peaje pendiente. Abone la multa pendiente de pago hoy.",
			[]string{"PHRASE_INTL_TOLL"}},
		{"es tax", "Agencia Tributaria", "Tiene un reembolso pendiente: devolución de impuestos de 312,40 €.",
			[]string{"PHRASE_INTL_TAX"}},
		{"de bank", "Wichtige Mitteilung", "Sehr geehrter Kunde, Ihr Konto wurde vorübergehend gesperrt. Bestätigen Sie Ihre Daten, um die Sperrung Ihres Kontos aufzuheben.",
			[]string{"PHRASE_INTL_BANK"}},
		{"de prize", "Herzlichen Glückwunsch!", "Sie wurden ausgewählt! Lösen Sie Ihre Prämie ein: ein Gutschein im Wert von 500 €.",
			[]string{"PHRASE_INTL_PRIZE"}},
		{"de toll", "Maut", "Sie haben eine offene Mautgebühr. Begleichen Sie die unbezahlte Maut innerhalb von 3 Tagen.",
			[]string{"PHRASE_INTL_TOLL"}},
		{"de mailbox", "Postfach", "Ihr Postfach ist voll. Ihr Passwort läuft ab heute ab; klicken Sie hier, um das aktuelle Passwort beibehalten zu können.",
			[]string{"PHRASE_INTL_MAILBOX"}},
		{"fr parcel", "Avis de passage", "Votre colis est en attente. Des frais de livraison impayés de 1,99 € doivent être réglés pour reprogrammer la livraison.",
			[]string{"PHRASE_INTL_PARCEL"}},
		{"fr tax", "impots.gouv", "Vous avez droit à un remboursement fiscal de 289 €.",
			[]string{"PHRASE_INTL_TAX"}},
		{"fr toll", "Péage", "Vous avez un péage impayé. Réglez les frais de péage.",
			[]string{"PHRASE_INTL_TOLL"}},
		{"nl parcel", "Je pakket", "Je pakket wordt vastgehouden. Betaal de douanekosten voor een nieuwe bezorging.",
			[]string{"PHRASE_INTL_PARCEL"}},
		{"nl tax", "Belastingdienst", "U heeft recht op een teruggave. Vraag uw belastingteruggave vandaag aan.",
			[]string{"PHRASE_INTL_TAX"}},
		{"nl bank", "Uw bankpas", "Geachte klant, uw bankpas verloopt. Bevestig uw gegevens om een nieuwe bankpas aanvragen te kunnen.",
			[]string{"PHRASE_INTL_BANK"}},
		{"it tax and toll", "Agenzia delle Entrate", "Hai diritto a un rimborso fiscale. Inoltre risulta un pedaggio non pagato.",
			[]string{"PHRASE_INTL_TAX", "PHRASE_INTL_TOLL"}},
		{"it prize", "Congratulazioni!", "Congratulazioni, hai vinto! Riscatta il tuo premio entro oggi.",
			[]string{"PHRASE_INTL_PRIZE"}},
		{"es crypto", "Inversión", "Ganancias garantizadas: gana dinero desde casa, invierte desde 250 €.",
			[]string{"PHRASE_INTL_CRYPTO"}},
		{"math bold German prize", "𝐒𝐢𝐞 𝐡𝐚𝐛𝐞𝐧 𝐠𝐞𝐰𝐨𝐧𝐧𝐞𝐧", "𝐈𝐡𝐫 𝐆𝐞𝐰𝐢𝐧𝐧 wartet.",
			[]string{"PHRASE_INTL_PRIZE", "SUBJ_STYLED_LETTERS"}},
		{"zero-width Portuguese bank", "Aviso", "Sua con\u200bta foi blo\u200bque\u200bada. Atua\u200dlize seus dados.",
			[]string{"PHRASE_INTL_BANK", "BODY_INVISIBLE_CHARS"}},
	}
	for _, tt := range lures {
		t.Run("lure/"+tt.name, func(t *testing.T) {
			got := hitsOf(rs, parse(mkmail(hdr(tt.subject), tt.body+"\n")))
			for _, n := range tt.fire {
				if _, ok := got[n]; !ok {
					t.Errorf("%s did not fire; fired: %v", n, names(got))
				}
			}
		})
	}

	// The real mail: at most maxIntl from all the language lists together,
	// and the whole content score below add_header.
	hams := []struct {
		name, from, subject, body string
		maxIntl                   float64
	}{
		{"pt colleague on a bank holiday and a tax meeting", "Joana Ribeiro <joana@escritorio.com.br>", "Feriado bancário e reunião do IR",
			"Oi pessoal,\n\nsegunda-feira é feriado bancário (Carnaval), então os boletos vencem na terça. A reunião com o contador sobre o " +
				"imposto de renda fica para quarta às 10h. Tragam os informes de rendimentos do banco; a Receita Federal abre o prazo " +
				"da declaração em março e quem tiver restituição recebe nos lotes de maio a setembro. Não esqueçam de conferir a conta " +
				"para depósito.\n\nAbraços,\nJoana", 1.5},
		{"pt bank's own statement notice", "Itaú <comunicado@itau.com.br>", "Seu extrato de abril está disponível",
			"Olá, Maria.\n\nSeu extrato de abril já está disponível no app e no Internet Banking. Por segurança, o Itaú nunca pede sua " +
				"senha, token ou dados do cartão por e-mail ou SMS.\n\nItaú Unibanco", 0},
		{"pt shop order notice", "Loja <pedidos@loja.example.com.br>", "Pedido 48213 confirmado",
			"Olá, Ana! Recebemos seu pedido 48213. Seu pedido está aguardando pagamento do boleto; assim que o pagamento for " +
				"confirmado, enviaremos pelos Correios com código de rastreio.", 0.5},
		{"German newsletter with umlauts and a prize draw", "Kaufhaus <newsletter@kaufhaus.example.de>", "Herbstwoche: Grüße aus München und unser Gewinnspiel",
			"Liebe Kundin, lieber Kunde,\n\nwir müssen Ihnen einfach von unserer Herbstwoche erzählen: Mäntel, Schuhe und Küchengeräte " +
				"bis zu 30 % günstiger. Beim Gewinnspiel verlosen wir drei Einkaufsgutscheine; gewinnen Sie mit etwas Glück einen " +
				"Gutschein im Wert von 50 €. Teilnahmeschluss ist Sonntag.\n\nMit freundlichen Grüßen\nIhr Kaufhaus-Team\n" +
				"Abmelden: https://kaufhaus.example.de/abmelden", 3},
		{"German tax office notice", "Finanzamt <noreply@elster.example.de>", "Ihr Steuerbescheid",
			"Sehr geehrte Frau Müller,\n\nIhr Steuerbescheid für 2023 liegt in ELSTER zum Abruf bereit. Bitte prüfen Sie ihn; " +
				"der Einspruch ist innerhalb eines Monats möglich.\n\nIhr Finanzamt", 0},
		{"French invoice reminder from a real company", "Orange <facture@orange.example.fr>", "Rappel : votre facture est disponible",
			"Bonjour Monsieur Durand,\n\nVotre facture n° F-2024-0113 d'un montant de 49,90 € est disponible dans votre Espace Client. " +
				"Elle sera prélevée le 15/05 sur votre compte bancaire. Si vous avez déjà réglé cette facture, merci de ne pas tenir " +
				"compte de ce message.\n\nCordialement,\nLe Service Client", 0},
		{"Spanish shipping notice", "Tienda <envios@tienda.example.es>", "Tu pedido ha sido enviado",
			"Hola Lucía, tu pedido 7781 ha sido enviado con Correos Express. Número de seguimiento 3312ABC. Entrega prevista el jueves; " +
				"si no estás en casa, dejaremos un aviso y podrás recogerlo en la oficina.", 0},
		{"Dutch shipping notice", "Webwinkel <bezorging@webwinkel.example.nl>", "Je bestelling is onderweg",
			"Hoi Sanne, je bestelling is onderweg. Je pakket wordt morgen tussen 10:00 en 14:00 bezorgd door PostNL. " +
				"Volg je pakket met de track & trace code.", 0},
		{"Italian receipt", "Negozio <ordini@negozio.example.it>", "Ricevuta del tuo ordine",
			"Grazie per il tuo acquisto! Ricevuta n. 5521. Il pagamento di 39,00 € è stato addebitato sulla tua carta. " +
				"La consegna è prevista venerdì.", 0},
	}
	for _, tt := range hams {
		t.Run("ham/"+tt.name, func(t *testing.T) {
			name, addr, _ := strings.Cut(tt.from, " <")
			raw := mkmail("From: "+enc(name)+" <"+addr+"\n"+hdr(tt.subject), tt.body+"\n")
			got := hitsOf(rs, parse(raw))
			intl, total := 0.0, 0.0
			for n, h := range got {
				total += h.Score
				if strings.HasPrefix(n, "PHRASE_INTL_") {
					intl += h.Score
				}
			}
			if intl > tt.maxIntl {
				t.Errorf("language lures scored %.1f (> %.1f): %v", intl, tt.maxIntl, hitList(got))
			}
			t.Logf("language lures %.1f, content %.1f: %v", intl, total, hitList(got))
			if total >= corpusAddHeader {
				t.Errorf("content score %.1f reaches add_header: %v", total, hitList(got))
			}
		})
	}
}

func hitList(h map[string]Hit) []string {
	var out []string
	for n, x := range h {
		out = append(out, n+"["+x.Match+"]")
	}
	return out
}
