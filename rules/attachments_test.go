package rules

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// attachment is one file for mailWith.
type attachment struct {
	ctype, name string
	data        []byte
}

// mailWith builds a multipart/mixed message: the header fields given
// (replacing the defaults of mkmail), a text body and base64 attachments.
func mailWith(header, body string, atts ...attachment) string {
	var b strings.Builder
	b.WriteString("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"=b\"\n" + header)
	h := b.String()
	b.Reset()
	b.WriteString("--=b\nContent-Type: text/plain; charset=utf-8\n\n" + body + "\n")
	for _, a := range atts {
		enc := base64.StdEncoding.EncodeToString(a.data)
		fmt.Fprintf(&b, "--=b\nContent-Type: %s; name=\"%s\"\nContent-Disposition: attachment; filename=\"%s\"\nContent-Transfer-Encoding: base64\n\n", a.ctype, a.name, a.name)
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\n")
	}
	b.WriteString("--=b--\n")
	return mkmail(h, b.String())
}

// testZip builds a zip; names starting with "!" are marked encrypted.
func testZip(t *testing.T, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		var w interface{ Write([]byte) (int, error) }
		var err error
		if enc, ok := strings.CutPrefix(n, "!"); ok {
			w, err = zw.CreateRaw(&zip.FileHeader{Name: enc, Flags: 1, Method: zip.Store, CompressedSize64: 4, UncompressedSize64: 4})
		} else {
			w, err = zw.Create(n)
		}
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("data"))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testPDF builds a one-page PDF showing text (one Tj per line, deflated),
// with a link annotation to uri when given and extra catalog entries.
func testPDF(text, uri, extra string) []byte {
	var content bytes.Buffer
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(&content, "BT 72 700 Td (%s) Tj ET\n", line)
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(content.Bytes())
	zw.Close()
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R " + extra + " >>\nendobj\n")
	fmt.Fprintf(&b, "4 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", z.Len())
	b.Write(z.Bytes())
	b.WriteString("\nendstream\nendobj\n")
	if uri != "" {
		b.WriteString("5 0 obj\n<< /Type /Annot /Subtype /Link /A << /S /URI /URI (" + uri + ") >> >>\nendobj\n")
	}
	b.WriteString("%%EOF\n")
	return b.Bytes()
}

// TestAttachmentRules runs the attachment built-ins through the default
// rule set: the lure each is for, and the everyday mail beside it that
// must stay silent (invoices, source archives, meeting invitations, logos,
// bank statements, shipping labels).
func TestAttachmentRules(t *testing.T) {
	rs := defaultRuleset(t)
	attach := []string{"ATTACH_EXECUTABLE", "ATTACH_ARCHIVE_EXECUTABLE", "ATTACH_DOUBLE_EXT", "ATTACH_PASSWORD_GIVEN",
		"ATTACH_HTML_CREDENTIALS", "ATTACH_HTML_SCRIPT", "ATTACH_PDF_LINK_THIN", "ATTACH_PDF_LURE_FREEMAIL",
		"ATTACH_PDF_ACTIVE", "ATTACH_ICS_LINK_STRANGER"}
	invoiceText := strings.Repeat("Pos. 3 Wartung Serverraum, 4 Std. a 95,00 EUR, netto 380,00 EUR, MwSt. 19 %\n", 20)
	lurePDF := testPDF("Click to view the document", "https://docview-secure.example.net/open", "")
	calendar := func(url string) []byte {
		return []byte("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nSUMMARY:Review\r\nDESCRIPTION:Join " + url + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	}
	svgLogo := []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="80" height="20"><text x="0" y="15">ACME</text></svg>`)
	tests := []struct {
		name   string
		raw    string
		fire   []string
		silent []string
		match  map[string]string
	}{
		{
			name:  "program attached",
			raw:   mailWith("", "Please run the update.", attachment{"application/octet-stream", "update.exe", []byte("MZ\x90\x00")}),
			fire:  []string{"ATTACH_EXECUTABLE"},
			match: map[string]string{"ATTACH_EXECUTABLE": "update.exe"},
		},
		{
			name:  "program named as a PDF",
			raw:   mailWith("", "Your invoice.", attachment{"application/pdf", "invoice.pdf", append([]byte("MZ\x90\x00"), make([]byte, 2048)...)}),
			fire:  []string{"ATTACH_EXECUTABLE"},
			match: map[string]string{"ATTACH_EXECUTABLE": "invoice.pdf is a Windows program"},
		},
		{
			name:  "disk image",
			raw:   mailWith("", "Documents attached.", attachment{"application/octet-stream", "Order_0424.iso", []byte("anything")}),
			fire:  []string{"ATTACH_EXECUTABLE"},
			match: map[string]string{"ATTACH_EXECUTABLE": "Order_0424.iso"},
		},
		{
			name:  "zip with a shortcut",
			raw:   mailWith("", "Scan attached.", attachment{"application/zip", "scan.zip", testZip(t, "scan_0424.lnk")}),
			fire:  []string{"ATTACH_ARCHIVE_EXECUTABLE"},
			match: map[string]string{"ATTACH_ARCHIVE_EXECUTABLE": "scan.zip: scan_0424.lnk"},
		},
		{
			name: "zip with a script, one file",
			raw:  mailWith("", "Factura adjunta.", attachment{"application/zip", "factura.zip", testZip(t, "factura_0424.js")}),
			fire: []string{"ATTACH_ARCHIVE_EXECUTABLE"},
		},
		{
			name: "double extension inside a zip",
			raw:  mailWith("", "Invoice.", attachment{"application/zip", "inv.zip", testZip(t, "invoice_0424.pdf.exe")}),
			fire: []string{"ATTACH_DOUBLE_EXT", "ATTACH_ARCHIVE_EXECUTABLE"},
		},
		{
			name:  "spaces push the real extension out of sight",
			raw:   mailWith("", "Statement.", attachment{"text/html", "statement.pdf          .html", []byte("<html><body>x</body></html>")}),
			fire:  []string{"ATTACH_DOUBLE_EXT"},
			match: map[string]string{"ATTACH_DOUBLE_EXT": "blank characters before .html"},
		},
		{
			name: "encrypted zip, password in Portuguese",
			raw: mailWith("", "Segue o comprovante em anexo.\nSenha: 2024",
				attachment{"application/zip", "comprovante.zip", testZip(t, "!comprovante.pdf")}),
			fire:  []string{"ATTACH_PASSWORD_GIVEN"},
			match: map[string]string{"ATTACH_PASSWORD_GIVEN": "Senha: 2024"},
		},
		{
			name: "encrypted zip, password in German",
			raw: mailWith("", "Die Rechnung liegt bei. Das Passwort ist 8841",
				attachment{"application/zip", "rechnung.zip", testZip(t, "!rechnung.doc")}),
			fire: []string{"ATTACH_PASSWORD_GIVEN"},
		},
		{
			name: "HTML attachment with a login form",
			raw: mailWith("", "Remittance advice attached.", attachment{"text/html", "Remittance.html",
				[]byte(`<html><body><form action="https://collect.example.net/a.php"><input type=password name=p></form></body></html>`)}),
			fire: []string{"ATTACH_HTML_CREDENTIALS"},
		},
		{
			name: "SVG that runs a script",
			raw: mailWith("", "Voice message.", attachment{"image/svg+xml", "VM_0424.svg",
				[]byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>window.location='https://x.example.net/'</script></svg>`)}),
			fire: []string{"ATTACH_HTML_SCRIPT"},
		},
		{
			name:  "PDF lure from free mail: a link, little text, a thin body",
			raw:   mailWith("From: Cliente <cliente.portal77@gmail.com>", "Veja o documento em anexo.", attachment{"application/pdf", "Informativo.pdf", lurePDF}),
			fire:  []string{"ATTACH_PDF_LINK_THIN", "ATTACH_PDF_LURE_FREEMAIL"},
			match: map[string]string{"ATTACH_PDF_LURE_FREEMAIL": "link to docview-secure.example.net"},
		},
		{
			name: "PDF with JavaScript",
			raw:  mailWith("", "Form attached.", attachment{"application/pdf", "form.pdf", testPDF("Form", "", "/OpenAction << /S /JavaScript /JS (this.exportDataObject()) >>")}),
			fire: []string{"ATTACH_PDF_ACTIVE"},
		},
		{
			name: "calendar invitation from a stranger with a link",
			raw: mailWith("From: Docs <share@docs-notice.net>\nTo: bob@example.net", "You have been invited.",
				attachment{"text/calendar", "invite.ics", calendar("https://login-verify.example.com/s")}),
			fire: []string{"ATTACH_ICS_LINK_STRANGER"},
		},
		// ---- false positives: everyday mail with attachments
		{
			name:   "invoice PDF from a business",
			raw:    mailWith("From: Buchhaltung <rechnung@hausmeister-mueller.example.de>", "Anbei unsere Rechnung.", attachment{"application/pdf", "Rechnung_2024-117.pdf", testPDF(invoiceText, "https://hausmeister-mueller.example.de/", "")}),
			silent: attach,
		},
		{
			name:   "invoice PDF with plenty of text from free mail",
			raw:    mailWith("From: Maria Handwerk <maria.handwerk@gmail.com>", "Hallo, anbei die Rechnung.", attachment{"application/pdf", "Rechnung.pdf", testPDF(invoiceText, "https://www.example.org/agb", "")}),
			silent: attach,
		},
		{
			name:   "zip of source code with scripts and a build jar",
			raw:    mailWith("", "Here is the tarball as a zip.", attachment{"application/zip", "project.zip", testZip(t, "src/app.js", "src/util.js", "build.bat", "gradle/wrapper/gradle-wrapper.jar", "README.md", "tests/run.ps1")}),
			silent: attach,
		},
		{
			name: "meeting invitation from a colleague's domain",
			raw: mailWith("From: Carol <carol@example.net>\nTo: bob@example.net\nDKIM-Signature: v=1; d=example.net; s=s1; b=abc", "Invitation: weekly sync",
				attachment{"text/calendar", "invite.ics", calendar("https://meet.video.example.com/abc-defg-hij")}),
			silent: attach,
		},
		{
			name:   "SVG logo without script",
			raw:    mailWith("", "Our new logo, as promised.", attachment{"image/svg+xml", "logo.svg", svgLogo}),
			silent: attach,
		},
		{
			name: "bank statement: encrypted PDF, password not given",
			raw: mailWith("From: Example Bank <statements@examplebank.example>", "Your monthly statement is attached. To open it, use your date of birth (DDMMYYYY) as the password.",
				attachment{"application/pdf", "Statement_2024-04.pdf", testPDF("x", "", "/Encrypt 9 0 R")}),
			silent: attach,
		},
		{
			name: "shipping label linking to its own carrier",
			raw: mailWith("From: Parcel Service <noreply@parcels.example.com>", "Your return label is attached.",
				attachment{"application/pdf", "label.pdf", testPDF("RETURN LABEL", "https://track.parcels.example.com/t/12345", "")}),
			silent: attach,
		},
		{
			name:   "Word document (a zip) from a colleague",
			raw:    mailWith("", "Draft attached, comments welcome.", attachment{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "draft.docx", testZip(t, "[Content_Types].xml", "word/document.xml", "_rels/.rels")}),
			silent: attach,
		},
		{
			name:   "patch and log attached to a list post",
			raw:    mailWith("", "Patch and boot log attached.", attachment{"text/x-patch", "0001-fix.patch", []byte("--- a/x.c\n+++ b/x.c\n")}, attachment{"text/x-log", "boot.log", []byte("ok\n")}),
			silent: attach,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkHits(t, hitsOf(rs, parse(tt.raw)), tt.fire, tt.silent, tt.match)
		})
	}
}

// TestSharedFreemailList: ATTACH_PDF_LURE_FREEMAIL reads REPLYTO_FREEMAIL's
// domains, so an operator who edits that list edits both.
func TestSharedFreemailList(t *testing.T) {
	rs := defaultRuleset(t)
	lure := testPDF("View", "https://docs.example.net/v", "")
	raw := mailWith("From: <someone@mail.example>", "See attached.", attachment{"application/pdf", "doc.pdf", lure})
	if _, ok := hitsOf(rs, parse(raw))["ATTACH_PDF_LURE_FREEMAIL"]; ok {
		t.Fatal("mail.example is not a free-mail provider by default")
	}
	rs2, err := Load([]string{writeRules(t, "freemail.toml", "[[rule]]\nname = \"REPLYTO_FREEMAIL\"\nkind = \"builtin\"\nscore = 2\ndescription = \"d\"\ndomains = [\"mail.example\"]\n")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := hitsOf(rs2, parse(raw))["ATTACH_PDF_LURE_FREEMAIL"]; !ok {
		t.Error("an operator's free-mail list did not reach ATTACH_PDF_LURE_FREEMAIL")
	}
}
