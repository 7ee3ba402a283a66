package message

import (
	"bytes"
	"io"
	"path"
	"strings"

	message "github.com/emersion/go-message"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Bounds on the look inside attachments. The MIME walk reads every
// attachment's raw bytes anyway (to find the next boundary); what it keeps
// for peeking is bounded per message, so a message of large or hostile
// files costs at most MaxAttachmentBytes of memory and that much parsing.
const (
	// MaxAttachmentBytes is the decoded attachment data kept per message
	// for a look inside (zip directory, PDF objects, HTML). It is a budget
	// of its own: the text scan budget (Options.MaxScanBytes) is untouched.
	MaxAttachmentBytes = 4 << 20
	// MaxAttachments bounds the attachments described per message.
	MaxAttachments = 64
	// MaxAttachmentLinks bounds the URLs kept per attachment.
	MaxAttachmentLinks = 100
	// sniffBytes is the head every attachment is read for, whatever the
	// budget left; isoSniffBytes reaches the ISO 9660 volume descriptor
	// (ECMA-119 §8: "CD001" at byte 0x8001).
	sniffBytes    = 1 << 10
	isoSniffBytes = 0x8001 + 5
	maxPartRaw    = 16 << 20 // raw bytes of one non-text part walked
)

// Attachment is one file the message carries: a non-text leaf of the MIME
// tree, a text part sent as a file (Content-Disposition: attachment or a
// file name), or a calendar invitation. What was found inside is filled in
// for the types peeked at (zip, gzip, PDF, HTML, SVG, iCalendar) when the
// bytes fit the per-message budget.
type Attachment struct {
	// Name is the file name (Content-Disposition filename or Content-Type
	// name), RFC 2231 and RFC 2047 decoded; "" when none is given.
	Name string
	// Type is the declared media type, lower case.
	Type string
	// Sniffed is what the first bytes say, whatever the declared type:
	// "pdf", "zip", "rar", "7z", "gzip", "iso", "exe" (an MZ program), "ole"
	// (old Office, .msi), "html", "svg", "ics"; "" for anything else.
	Sniffed string
	// Size is the decoded size in bytes, as far as the walk read it.
	Size int64
	// Complete tells that the look inside covered the whole file; when
	// false the attachment budget ran out and only a prefix was read (the
	// name, type and sniffed type are known in any case).
	Complete bool
	// Archive lists a zip's or gzip's contents.
	Archive *Archive
	// PDF is what a scan of a PDF's objects found.
	PDF *PDFInfo
	// HTML is what an HTML or SVG attachment does.
	HTML *HTMLInfo
	// Links are the URLs inside: PDF link annotations, HTML and SVG links,
	// form actions and URLs in scripts, calendar URLs. They are not among
	// the message's Links (which are what the body shows).
	Links []Link
}

// Ext is the attachment's last file-name extension, lower case, with the
// dot (".exe"); "" when it has none.
func (a *Attachment) Ext() string { return FileExt(a.Name) }

// FileExt is the last extension of a file name, lower case, with the dot.
// Trailing dots and spaces, which Windows drops, are dropped first.
func FileExt(name string) string {
	name = strings.TrimRight(name, ". \t")
	if i := strings.LastIndexAny(name, "/\\"); i >= 0 {
		name = name[i+1:]
	}
	return strings.ToLower(path.Ext(name))
}

// HTMLInfo is what an HTML or SVG attachment holds that a browser would
// run or submit.
type HTMLInfo struct {
	Forms     int // <form> elements, with or without an action
	Passwords int // <input type=password>
	// Scripts counts <script> elements, on* event handler attributes and
	// javascript: URLs.
	Scripts int
	// Refresh is set for a <meta http-equiv=refresh> (a redirect).
	Refresh bool
	// TextChars is the length of the visible text.
	TextChars int
}

// Attachments lists the message's attachments, in MIME order, at most
// MaxAttachments (parsed on first use, with the rest of the body). The
// slice is shared: callers must not modify it.
func (m *Message) Attachments() []Attachment { return m.content().attachments }

// attachmentName is the part's file name, decoded: mime.ParseMediaType
// (behind ContentDisposition) already joins RFC 2231 continuations and
// charsets; senders also put RFC 2047 encoded words in quoted names, which
// mail readers decode though RFC 2047 §5 says not to.
func attachmentName(p Part) string {
	return strings.TrimSpace(DecodeHeader(p.Filename))
}

// isFileText tells whether a text part is a file rather than the body: a
// calendar invitation, or a part with a file name or attachment
// disposition.
func isFileText(p Part, mt string) bool {
	return p.Attachment || p.Filename != "" || mt == "text/calendar"
}

// textAttachment records a text part that is a file, from the decoded
// text the walk read for it (within the text budget).
func (w *walker) textAttachment(p Part, mt string, data []byte, complete bool) {
	if len(w.c.attachments) >= MaxAttachments {
		return
	}
	a := Attachment{Name: attachmentName(p), Type: mt, Size: int64(len(data)), Complete: complete}
	a.Sniffed = sniffContent(data)
	w.peek(&a, data)
	w.c.attachments = append(w.c.attachments, a)
}

// binaryAttachment records a non-text part while the walk reads through
// it: the head is always sniffed, and the bytes of types worth a look
// inside are kept up to the message's attachment budget. It returns the
// raw bytes walked.
func (w *walker) binaryAttachment(h message.Header, p Part, body io.Reader) int64 {
	raw := &countingReader{r: io.LimitReader(body, maxPartRaw)}
	if len(w.c.attachments) < MaxAttachments {
		w.c.attachments = append(w.c.attachments, w.readAttachment(h, p, raw))
	}
	io.Copy(io.Discard, raw) //nolint:errcheck // the rest only moves the walk on
	return raw.n
}

// readAttachment decodes a non-text part, sniffs its head and keeps the
// bytes of a type worth a look inside, within the attachment budget.
func (w *walker) readAttachment(h message.Header, p Part, raw io.Reader) Attachment {
	a := Attachment{Name: attachmentName(p), Type: p.Type}
	var dec io.Reader = raw
	if e, err := message.New(h, raw); err == nil {
		dec = e.Body
	}
	head := make([]byte, sniffBytes)
	n, _ := io.ReadFull(dec, head)
	head = head[:n]
	a.Sniffed = sniffContent(head)
	want := int64(0) // bytes wanted beyond the head
	switch {
	case n < sniffBytes:
	case peekable(a.Sniffed, a.Type, a.Ext()):
		want = w.attachBudget - int64(n)
	case a.Sniffed == "" && !strings.HasPrefix(a.Type, "image/") && !imageMagic(head):
		want = min(w.attachBudget, isoSniffBytes) - int64(n) // room for an ISO 9660 descriptor
	}
	data := head
	var readErr error
	if want > 0 {
		buf := bytes.NewBuffer(make([]byte, 0, n+int(min(want, 64<<10))))
		buf.Write(head)
		_, readErr = io.Copy(buf, io.LimitReader(dec, want))
		data = buf.Bytes()
		if a.Sniffed == "" {
			a.Sniffed = sniffContent(data)
		}
	}
	w.attachBudget -= int64(len(data))
	rest, err := io.Copy(io.Discard, dec)
	a.Size = int64(len(data)) + rest
	// Bad base64 ends the decoded data early: what was read is a prefix.
	a.Complete = rest == 0 && err == nil && readErr == nil
	w.peek(&a, data)
	return a
}

// peekable tells whether an attachment is one of the types looked into.
func peekable(sniffed, mt, ext string) bool {
	switch sniffed {
	case "zip", "gzip", "pdf", "html", "svg", "ics":
		return true
	}
	switch mt {
	case "application/pdf", "application/zip", "application/x-zip-compressed", "text/html",
		"image/svg+xml", "text/calendar", "application/ics":
		return true
	}
	switch ext {
	case ".pdf", ".zip", ".htm", ".html", ".shtml", ".xhtml", ".svg", ".ics":
		return true
	}
	return false
}

// peek fills in what is inside an attachment from its bytes.
func (w *walker) peek(a *Attachment, data []byte) {
	ext := a.Ext()
	switch {
	case a.Sniffed == "zip":
		a.Archive = PeekZip(data)
	case a.Sniffed == "gzip":
		a.Archive = peekGzip(data)
	case a.Sniffed == "pdf":
		a.PDF, a.Links = PeekPDF(data)
	case a.Sniffed == "ics" || a.Type == "text/calendar" || ext == ".ics":
		a.Links = calendarLinks(data)
	case a.Sniffed == "html" || a.Sniffed == "svg" || a.Type == "text/html" || a.Type == "image/svg+xml" ||
		ext == ".htm" || ext == ".html" || ext == ".shtml" || ext == ".xhtml" || ext == ".svg":
		a.HTML, a.Links = peekHTML(data)
	}
}

// sniffContent names a file type from its first bytes, the way a desktop
// opens a file whatever its name or declared type says.
func sniffContent(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("PK\x03\x04")), bytes.HasPrefix(b, []byte("PK\x05\x06")):
		return "zip"
	case bytes.HasPrefix(b, []byte("Rar!\x1a\x07")):
		return "rar"
	case bytes.HasPrefix(b, []byte("7z\xbc\xaf\x27\x1c")):
		return "7z"
	case bytes.HasPrefix(b, []byte("\x1f\x8b")):
		return "gzip"
	case bytes.HasPrefix(b, []byte("MZ")):
		return "exe"
	case bytes.HasPrefix(b, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
		return "ole"
	case bytes.Contains(b[:min(len(b), 1024)], []byte("%PDF-")):
		return "pdf" // readers accept junk before the header (ISO 32000-1 §7.5.2 asks for it at 0)
	case len(b) >= isoSniffBytes && string(b[0x8001:0x8006]) == "CD001":
		return "iso"
	}
	head := bytes.TrimLeft(b[:min(len(b), 1024)], "\xef\xbb\xbf \t\r\n")
	// Every name below starts with '<' or "begin", and no other character
	// lower-cases to either: any other first byte is none of them. Binary
	// heads (images) stop here, before a lower-cased copy of 1 KiB that
	// bytes.ToLower builds rune by rune for them.
	if len(head) == 0 || head[0] != '<' && head[0] != 'b' && head[0] != 'B' {
		return ""
	}
	lower := bytes.ToLower(head)
	switch {
	case bytes.HasPrefix(lower, []byte("begin:vcalendar")):
		return "ics"
	case bytes.HasPrefix(lower, []byte("<svg")),
		bytes.HasPrefix(lower, []byte("<?xml")) && bytes.Contains(lower, []byte("<svg")):
		return "svg"
	}
	for _, p := range []string{"<!doctype html", "<html", "<head", "<body", "<script", "<meta", "<form", "<iframe", "<!--"} {
		if bytes.HasPrefix(lower, []byte(p)) {
			if p == "<!--" && !bytes.Contains(lower, []byte("<html")) && !bytes.Contains(lower, []byte("<script")) {
				continue
			}
			return "html"
		}
	}
	return ""
}

// imageMagic tells PNG, JPEG and GIF data, which need no further look.
func imageMagic(b []byte) bool {
	return bytes.HasPrefix(b, []byte("\x89PNG")) || bytes.HasPrefix(b, []byte("\xff\xd8\xff")) ||
		bytes.HasPrefix(b, []byte("GIF8"))
}

// peekHTML runs the HTML parser over an HTML or SVG attachment for its
// links and visible text, and one more token pass for what a browser
// would run or submit: forms, password fields, scripts and event handlers.
func peekHTML(data []byte) (*HTMLInfo, []Link) {
	src := toUTF8(data)
	var ls linkSet
	r := parseHTML(src, &ls)
	info := &HTMLInfo{TextChars: len(r.visible)}
	z := html.NewTokenizer(strings.NewReader(src))
	z.SetMaxBuf(1 << 20)
	var attrs attrList
	for tokens := 0; tokens < maxHTMLTokens; tokens++ {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			if tt == html.TextToken && info.Scripts > 0 {
				// URLs a script posts to or redirects to.
				textURLs(string(z.Text()), func(u string) { ls.add(u, "", "script") })
			}
			continue
		}
		name, hasAttr := z.TagName()
		attrs = readAttrs(z, hasAttr, attrs)
		switch atom.Lookup(name) {
		case atom.Form:
			info.Forms++
		case atom.Input:
			if strings.EqualFold(strings.TrimSpace(attrs.get("type")), "password") {
				info.Passwords++
			}
		case atom.Script:
			info.Scripts++
		case atom.Meta:
			if strings.EqualFold(attrs.get("http-equiv"), "refresh") {
				info.Refresh = true
				if _, u, ok := strings.Cut(attrs.get("content"), "="); ok {
					ls.add(u, "", "href")
				}
			}
		}
		for _, at := range attrs {
			k := strings.ToLower(string(at.k))
			if len(k) > 2 && strings.HasPrefix(k, "on") ||
				strings.HasPrefix(strings.ToLower(strings.TrimSpace(string(at.v))), "javascript:") {
				info.Scripts++
				break
			}
		}
	}
	return info, clipLinks(ls.links)
}

// calendarLinks finds the URLs of an iCalendar file, after unfolding its
// lines (RFC 5545 §3.1: a CRLF followed by a space or tab continues the
// line, so a long URL arrives cut in pieces).
func calendarLinks(data []byte) []Link {
	s := toUTF8(data)
	s = strings.NewReplacer("\r\n ", "", "\r\n\t", "", "\n ", "", "\n\t", "").Replace(s)
	// TEXT values escape commas and semicolons (RFC 5545 §3.3.11).
	s = strings.NewReplacer(`\,`, ",", `\;`, ";", `\n`, " ", `\N`, " ").Replace(s)
	var ls linkSet
	textURLs(s, func(u string) { ls.add(u, u, "text") })
	return clipLinks(ls.links)
}

func clipLinks(l []Link) []Link {
	if len(l) > MaxAttachmentLinks {
		l = l[:MaxAttachmentLinks]
	}
	return l
}
