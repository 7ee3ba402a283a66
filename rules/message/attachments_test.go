package message

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// zipOf builds a zip of the named files; a name starting with "!" is
// marked encrypted (general purpose flag bit 0) and stored as given, one
// starting with "=" is stored uncompressed.
func zipOf(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range files {
		if enc, ok := strings.CutPrefix(name, "!"); ok {
			w, err := zw.CreateRaw(&zip.FileHeader{Name: enc, Flags: 1, Method: zip.Store,
				CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data))})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(data)
			continue
		}
		method := zip.Deflate
		if n, ok := strings.CutPrefix(name, "="); ok {
			name, method = n, zip.Store
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pdfOf builds a small PDF: a page whose content stream (deflated) shows
// text, and an optional link annotation and extra catalog entries.
func pdfOf(text, uri, extra string) []byte {
	var content bytes.Buffer
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(&content, "BT /F1 12 Tf 72 700 Td (%s) Tj ET\n", line)
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(content.Bytes())
	zw.Close()
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R " + extra + ">>\nendobj\n")
	b.WriteString("2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n")
	annots := ""
	if uri != "" {
		annots = "/Annots [5 0 R]"
	}
	b.WriteString("3 0 obj\n<< /Type /Page /Parent 2 0 R /Contents 4 0 R " + annots + " >>\nendobj\n")
	fmt.Fprintf(&b, "4 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", z.Len())
	b.Write(z.Bytes())
	b.WriteString("\nendstream\nendobj\n")
	if uri != "" {
		b.WriteString("5 0 obj\n<< /Type /Annot /Subtype /Link /Rect [0 0 612 792] /A << /S /URI /URI (" + uri + ") >> >>\nendobj\n")
	}
	b.WriteString("trailer\n<< /Root 1 0 R >>\n%%EOF\n")
	return b.Bytes()
}

// withAttachment wraps a body and one base64 attachment in multipart/mixed.
// disp is the Content-Disposition line's parameters after "attachment".
func withAttachment(body, ctype, disp string, data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var lines []string
	for len(enc) > 76 {
		lines = append(lines, enc[:76])
		enc = enc[76:]
	}
	lines = append(lines, enc)
	return "From: a@example.org\nSubject: files\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n" +
		"--b1\nContent-Type: text/plain; charset=utf-8\n\n" + body + "\n" +
		"--b1\nContent-Type: " + ctype + "\nContent-Disposition: attachment" + disp + "\nContent-Transfer-Encoding: base64\n\n" +
		strings.Join(lines, "\n") + "\n--b1--\n"
}

func TestAttachmentNamesAndTypes(t *testing.T) {
	tests := []struct {
		name, ctype, disp string
		data              []byte
		wantName, sniffed string
	}{
		{"RFC 2231 name", "application/pdf", "; filename*=UTF-8''fa%C3%A7ture%20mai.pdf", pdfOf("x", "", ""), "façture mai.pdf", "pdf"},
		{"encoded word in a quoted name", "application/octet-stream", "; filename=\"=?UTF-8?B?UmVjaWJvLnppcA==?=\"", zipOf(t, map[string][]byte{"a.txt": []byte("a")}), "Recibo.zip", "zip"},
		{"program named as a picture", "image/jpeg", "; filename=\"photo.jpg\"", append([]byte("MZ\x90\x00"), make([]byte, 2000)...), "photo.jpg", "exe"},
		{"ISO 9660 image", "application/octet-stream", "; filename=\"scan.img\"", append(append(make([]byte, 0x8001), []byte("CD001")...), make([]byte, 100)...), "scan.img", "iso"},
		{"rar", "application/x-rar", "; filename=\"a.rar\"", []byte("Rar!\x1a\x07\x01\x00rest of the archive"), "a.rar", "rar"},
		{"svg", "image/svg+xml", "; filename=\"logo.svg\"", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>`), "logo.svg", "svg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parse(withAttachment("see attached", tt.ctype, tt.disp, tt.data))
			atts := m.Attachments()
			if len(atts) != 1 {
				t.Fatalf("%d attachments, want 1: %+v", len(atts), atts)
			}
			a := atts[0]
			if a.Name != tt.wantName || a.Sniffed != tt.sniffed || a.Size != int64(len(tt.data)) {
				t.Errorf("got name %q sniffed %q size %d, want %q %q %d", a.Name, a.Sniffed, a.Size, tt.wantName, tt.sniffed, len(tt.data))
			}
			if !strings.Contains(m.PlainText(), "see attached") {
				t.Errorf("body text lost: %q", m.PlainText())
			}
		})
	}
}

func TestZipPeek(t *testing.T) {
	inner := zipOf(t, map[string][]byte{"payload.exe": []byte("MZ")})
	tests := []struct {
		name      string
		data      []byte
		entries   []string // "in/name" for nested entries
		files     int
		encrypted bool
		malformed bool
	}{
		{name: "plain", data: zipOf(t, map[string][]byte{"doc/readme.txt": []byte("hi")}), entries: []string{"doc/readme.txt"}, files: 1},
		{name: "encrypted entry", data: zipOf(t, map[string][]byte{"!invoice.js": []byte("xxxx")}), entries: []string{"invoice.js"}, files: 1, encrypted: true},
		{name: "zip in a zip, one level", data: zipOf(t, map[string][]byte{"docs.zip": inner}), entries: []string{"docs.zip", "docs.zip/payload.exe"}, files: 1},
		{name: "cut before its directory: local headers", data: zipOf(t, map[string][]byte{"=a.vbs": bytes.Repeat([]byte("x"), 500)})[:300], entries: []string{"a.vbs"}, files: 1, malformed: true},
		{name: "self-extractor stub in front", data: append([]byte("MZ stub bytes"), zipOf(t, map[string][]byte{"x.lnk": []byte("l")})...), entries: []string{"x.lnk"}, files: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := PeekZip(tt.data)
			var got []string
			for _, e := range a.Entries {
				n := e.Name
				if e.In != "" {
					n = e.In + "/" + n
				}
				got = append(got, n)
			}
			if strings.Join(got, ",") != strings.Join(tt.entries, ",") || a.Files != tt.files ||
				a.Encrypted != tt.encrypted || a.Malformed != tt.malformed {
				t.Errorf("got %v files %d encrypted %v malformed %v, want %v %d %v %v",
					got, a.Files, a.Encrypted, a.Malformed, tt.entries, tt.files, tt.encrypted, tt.malformed)
			}
		})
	}
}

func TestZipPeekBounded(t *testing.T) {
	many := map[string][]byte{}
	for i := range 1000 {
		many[fmt.Sprintf("f%04d.txt", i)] = nil
	}
	a := PeekZip(zipOf(t, many))
	if len(a.Entries) != MaxArchiveEntries || !a.More {
		t.Errorf("1000 entries: kept %d, More %v; want %d, true", len(a.Entries), a.More, MaxArchiveEntries)
	}
	// A bomb inside: 64 MiB of zeros deflates to ~64 KiB; only the first
	// maxNestedZipBytes of the nested zip are inflated, and it is not a
	// zip anyway once cut.
	var bomb bytes.Buffer
	zw := zip.NewWriter(&bomb)
	w, _ := zw.Create("zeros.bin")
	zero := make([]byte, 1<<20)
	for range 64 {
		w.Write(zero)
	}
	zw.Close()
	outer := zipOf(t, map[string][]byte{"bomb.zip": bomb.Bytes()})
	a = PeekZip(outer)
	if len(a.Entries) > 2 {
		t.Errorf("bomb: %d entries", len(a.Entries))
	}
}

func TestPDFPeek(t *testing.T) {
	invoice := strings.Repeat("Item 4711 Consulting services, March 2024, 12 hours at 95.00 EUR\n", 30)
	tests := []struct {
		name      string
		data      []byte
		uris      []string
		js        bool
		minChars  int
		maxChars  int
		encrypted bool
	}{
		{name: "lure: one link, one line", data: pdfOf("View document", "https://files.example.net/view?id=1", ""), uris: []string{"https://files.example.net/view?id=1"}, maxChars: 20},
		{name: "invoice: text, no link", data: pdfOf(invoice, "", ""), minChars: 1500},
		{name: "JavaScript open action", data: pdfOf("x", "", "/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), js: true},
		{name: "name written with #xx escapes", data: pdfOf("x", "", "/OpenAction << /S /J#61vaScript /JS (x) >>"), js: true},
		{name: "escaped parentheses in the URI", data: pdfOf("x", `https://e.example/a\(b\)`, ""), uris: []string{"https://e.example/a(b)"}},
		{name: "encrypted", data: pdfOf("x", "", "/Encrypt 9 0 R"), encrypted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, links := PeekPDF(tt.data)
			var got []string
			for _, l := range links {
				got = append(got, l.URL)
			}
			if strings.Join(got, " ") != strings.Join(tt.uris, " ") {
				t.Errorf("links %v, want %v", got, tt.uris)
			}
			if p.JavaScript != tt.js || p.Encrypted != tt.encrypted {
				t.Errorf("JavaScript %v Encrypted %v, want %v %v", p.JavaScript, p.Encrypted, tt.js, tt.encrypted)
			}
			if p.TextChars < tt.minChars || tt.maxChars > 0 && p.TextChars > tt.maxChars {
				t.Errorf("%d characters of text, want %d..%d", p.TextChars, tt.minChars, tt.maxChars)
			}
		})
	}
}

func TestHTMLAndCalendarAttachments(t *testing.T) {
	login := `<html><body><form action="https://collect.example.net/p.php" method=post>
<input name=email><input type="password" name=pw></form></body></html>`
	m := parse(withAttachment("Please see the attached", "text/html", "; filename=\"Payment_Advice.html\"", []byte(login)))
	atts := m.Attachments()
	if len(atts) != 1 || atts[0].HTML == nil || atts[0].HTML.Forms != 1 || atts[0].HTML.Passwords != 1 {
		t.Fatalf("HTML attachment: %+v", atts)
	}
	if len(atts[0].Links) == 0 || atts[0].Links[0].Host != "collect.example.net" {
		t.Errorf("form action not among the links: %+v", atts[0].Links)
	}
	svg := `<svg xmlns="http://www.w3.org/2000/svg" onload="location='https://x.example/'"><rect/></svg>`
	m = parse(withAttachment("hi", "image/svg+xml", "; filename=\"fax.svg\"", []byte(svg)))
	if atts = m.Attachments(); len(atts) != 1 || atts[0].HTML == nil || atts[0].HTML.Scripts == 0 {
		t.Errorf("SVG onload handler not seen: %+v", atts)
	}
	ics := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDESCRIPTION:Join: https://meet.examp\r\n le.com/abc-def\\, see you\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	m = parse(withAttachment("invite", "text/calendar; method=REQUEST", "; filename=\"invite.ics\"", []byte(ics)))
	if atts = m.Attachments(); len(atts) != 1 || len(atts[0].Links) != 1 || atts[0].Links[0].Host != "meet.example.com" {
		t.Errorf("calendar link (folded line): %+v", atts)
	}
}

// TestAttachmentBudgetLeavesTextAlone: a large attachment is sniffed but
// only MaxAttachmentBytes of it kept, and the text around it is read as
// before, within the text budget.
func TestAttachmentBudgetLeavesTextAlone(t *testing.T) {
	big := append(pdfOf("x", "", ""), make([]byte, MaxAttachmentBytes+1000)...)
	raw := withAttachment("before the file", "application/pdf", "; filename=\"big.pdf\"", big)
	raw = strings.Replace(raw, "--b1--\n", "--b1\nContent-Type: text/plain\n\nafter the file\n--b1--\n", 1)
	m := parse(raw)
	atts := m.Attachments()
	if len(atts) != 1 || atts[0].Complete || atts[0].Size != int64(len(big)) || atts[0].Sniffed != "pdf" {
		t.Fatalf("big attachment: %+v", atts)
	}
	if !strings.Contains(m.PlainText(), "before the file") || !strings.Contains(m.PlainText(), "after the file") {
		t.Errorf("text around the attachment: %q", m.PlainText())
	}
}

func FuzzPeekZip(f *testing.F) {
	f.Add(zipOf(f, map[string][]byte{"a.exe": []byte("MZ"), "!b.js": []byte("x")}))
	f.Add(zipOf(f, map[string][]byte{"in.zip": zipOf(f, map[string][]byte{"c.lnk": nil})}))
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a := PeekZip(data)
		if len(a.Entries) > MaxArchiveEntries {
			t.Fatalf("%d entries", len(a.Entries))
		}
		for _, e := range a.Entries {
			if len(e.Name) > 4*maxEntryName {
				t.Fatalf("entry name of %d bytes", len(e.Name))
			}
		}
	})
}

func FuzzPeekPDF(f *testing.F) {
	f.Add(pdfOf("hello", "https://e.example/", "/OpenAction << /JS (x) >>"))
	f.Add([]byte("%PDF-1.4\n1 0 obj << /Filter /FlateDecode >> stream\nx\x9c\x03\x00endstream /URI <68747470733a2f2f652e6578616d706c652f>"))
	f.Add([]byte("/URI (unterminated \\( string"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, links := PeekPDF(data)
		if len(links) > MaxAttachmentLinks {
			t.Fatalf("%d links", len(links))
		}
		// Text comes from the bytes read and the bounded inflated streams.
		if p.TextChars > len(data)+maxPDFInflate {
			t.Fatalf("%d characters of text from %d bytes", p.TextChars, len(data))
		}
	})
}

func FuzzAttachments(f *testing.F) {
	f.Add([]byte(withAttachment("x", "application/zip", "; filename=\"a.zip\"", []byte("PK\x03\x04garbage"))))
	f.Add([]byte(withAttachment("x", "text/calendar", "", []byte("BEGIN:VCALENDAR\nURL:https://a.example/\n"))))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := ParseMessage(bytes.NewReader(data), int64(len(data)))
		atts := m.Attachments()
		if len(atts) > MaxAttachments {
			t.Fatalf("%d attachments", len(atts))
		}
		for _, a := range atts {
			if len(a.Links) > MaxAttachmentLinks || a.Archive != nil && len(a.Archive.Entries) > MaxArchiveEntries {
				t.Fatalf("unbounded attachment: %d links", len(a.Links))
			}
		}
	})
}
