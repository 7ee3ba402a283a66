package heuristics

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"relayguard/rules/message"
)

// Heuristics that read the attachments: what the files are called, what
// their first bytes say, and what a cheap look inside found (zip
// directories, PDF link annotations, HTML forms, calendar links).

// runExts are file types Windows runs (or mounts) when opened: programs,
// scripts, shortcuts, installers and disk images. Mail programs and
// attachment filters (Outlook's Level 1 list, Gmail's blocked types)
// refuse most of them.
var runExts = map[string]bool{
	".exe": true, ".scr": true, ".pif": true, ".cpl": true, ".lnk": true, ".hta": true,
	".js": true, ".jse": true, ".vbs": true, ".vbe": true, ".wsf": true,
	".cmd": true, ".bat": true, ".ps1": true, ".msi": true, ".jar": true,
	".iso": true, ".img": true, ".vhd": true, ".vhdx": true,
}

// buildExts are the types of runExts that also turn up in source trees and
// build outputs; inside an archive they count only when the archive holds
// a handful of files, as a dropper does, not a project.
var buildExts = map[string]bool{".js": true, ".cmd": true, ".bat": true, ".ps1": true, ".msi": true, ".jar": true}

// maxDropperFiles is the most files an archive may hold for a build type
// in it to count as the payload.
const maxDropperFiles = 4

// attachExecutable: a program, script, shortcut or disk image attached as
// it is, or a file whose first bytes are a Windows program or an ISO 9660
// image whatever its name says.
func attachExecutable(in *Input) (string, bool) {
	for _, a := range in.Msg.Attachments() {
		switch {
		case runExts[a.Ext()]:
			return a.Name, true
		case a.Sniffed == "exe":
			return fmt.Sprintf("%s is a Windows program", nameOr(a)), true
		case a.Sniffed == "iso":
			return fmt.Sprintf("%s is a disk image", nameOr(a)), true
		}
	}
	return "", false
}

// attachArchiveExecutable: an archive (zip, a zip in a zip, gzip) carrying
// a program, script, shortcut or disk image.
func attachArchiveExecutable(in *Input) (string, bool) {
	for _, a := range in.Msg.Attachments() {
		if a.Archive == nil {
			continue
		}
		for _, e := range a.Archive.Entries {
			ext := message.FileExt(e.Name)
			if e.Dir || !runExts[ext] {
				continue
			}
			if buildExts[ext] && a.Archive.Files > maxDropperFiles {
				continue
			}
			return entryPath(a, e), true
		}
	}
	return "", false
}

// docExts are what a lure pretends to be in front of the real extension.
var docExts = map[string]bool{
	".pdf": true, ".doc": true, ".docx": true, ".xls": true, ".xlsx": true, ".ppt": true, ".pptx": true,
	".rtf": true, ".txt": true, ".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".csv": true,
	".odt": true, ".mp3": true, ".mp4": true, ".wav": true, ".zip": true,
}

// lureExts are the real extensions behind a pretended one: what runs, and
// the HTML pages that open a login form in the browser.
func lureExt(ext string) bool {
	return runExts[ext] || ext == ".htm" || ext == ".html" || ext == ".shtml" || ext == ".svg"
}

// attachDoubleExt: a file name dressed up as a document, "invoice.pdf.exe",
// "scan.pdf      .html" (spaces push the real extension out of sight),
// or a right-to-left override that shows "exe.pdf" backwards.
func attachDoubleExt(in *Input) (string, bool) {
	for _, a := range in.Msg.Attachments() {
		if why, ok := disguisedName(a.Name); ok {
			return a.Name + ": " + why, true
		}
		if a.Archive == nil {
			continue
		}
		for _, e := range a.Archive.Entries {
			if why, ok := disguisedName(e.Name); ok {
				return entryPath(a, e) + ": " + why, true
			}
		}
	}
	return "", false
}

// disguisedName tells how a file name hides its type, if it does.
func disguisedName(name string) (string, bool) {
	if strings.ContainsAny(name, "\u202e\u202d\u2066\u2067\u2068") {
		return "right-to-left override in the name", true
	}
	ext := message.FileExt(name)
	if !lureExt(ext) {
		return "", false
	}
	stem := strings.TrimRight(name, ". \t")
	stem = stem[:len(stem)-len(ext)]
	if gap := len(stem) - len(strings.TrimRight(stem, " _\t\u00a0")); gap >= 4 {
		return fmt.Sprintf("%d blank characters before %s", gap, ext), true
	}
	if inner := message.FileExt(strings.TrimRight(stem, " _")); docExts[inner] {
		return inner + " then " + ext, true
	}
	return "", false
}

// passwordGiven finds a password handed over in the text: a word for
// password in one of the languages the phrase lists cover, then "is" or
// a colon and a token with a digit in it.
var passwordGiven = regexp.MustCompile(`(?i)\b(?:password|passwort|kennwort|senha|contrase(?:ñ|n)a|clave|mot de passe|wachtwoord|pwd)[^:=\n]{0,30}?(?:[:=：]|\s(?:is|é|e|es|ist|est)\s)\s*["'«“]?([^\s"'«»“”]*[0-9][^\s"'«»“”]*)`)

// attachPasswordGiven: a password-protected archive or PDF with its
// password in the message. The protection keeps the contents from every
// scanner on the way; the reader still opens it. (A rar or 7z archive
// counts as protected: its directory is not read.)
func attachPasswordGiven(in *Input) (string, bool) {
	var locked *message.Attachment
	atts := in.Msg.Attachments()
	for i, a := range atts {
		if a.Archive != nil && a.Archive.Encrypted || a.Sniffed == "rar" || a.Sniffed == "7z" ||
			a.PDF != nil && a.PDF.Encrypted {
			locked = &atts[i]
			break
		}
	}
	if locked == nil {
		return "", false
	}
	m := passwordGiven.FindStringSubmatch(in.Body())
	if m == nil {
		return "", false
	}
	return fmt.Sprintf("%s, %q", nameOr(*locked), message.ClipText(m[0], 60)), true
}

// attachHTMLCredentials: an HTML or SVG attachment with a form or a
// password field, a login page that opens from the disk and posts
// wherever it likes.
func attachHTMLCredentials(in *Input) (string, bool) {
	for _, a := range in.Msg.Attachments() {
		if h := a.HTML; h != nil && (h.Forms > 0 || h.Passwords > 0) {
			return fmt.Sprintf("%s: %d forms, %d password fields", nameOr(a), h.Forms, h.Passwords), true
		}
	}
	return "", false
}

// attachHTMLScript: an HTML or SVG attachment that runs a script, has an
// event handler or redirects; an SVG picture needs none of them.
func attachHTMLScript(in *Input) (string, bool) {
	for _, a := range in.Msg.Attachments() {
		if h := a.HTML; h != nil && (h.Scripts > 0 || h.Refresh) {
			what := fmt.Sprintf("%d scripts", h.Scripts)
			if h.Refresh {
				what = "a redirect"
			}
			return nameOr(a) + ": " + what, true
		}
	}
	return "", false
}

// pdfLinkThin finds a PDF that carries a link off the sender's domain and
// little text of its own (under min bytes shown, or encrypted so that
// nothing can be read): the lure is a picture of a document over one big
// link.
func pdfLinkThin(in *Input) (*message.Attachment, bool) {
	from, _ := in.Msg.FirstAddress("From")
	fromReg := registeredDomain(from.Domain())
	atts := in.Msg.Attachments()
	for i, a := range atts {
		p := a.PDF
		if p == nil || p.URIs == 0 || p.JavaScript || !linksElsewhere(a.Links, fromReg) {
			continue
		}
		if p.Encrypted || float64(p.TextChars) < in.Min {
			return &atts[i], true
		}
	}
	return nil, false
}

// linksElsewhere tells whether a link leaves the sender's registered
// domain (a shipping label linking to its own carrier does not); links an
// encrypted PDF hides count as elsewhere.
func linksElsewhere(links []message.Link, fromReg string) bool {
	if len(links) == 0 {
		return true
	}
	for _, l := range links {
		if registeredDomain(l.Host) != fromReg {
			return true
		}
	}
	return false
}

// thinBodyWords is the most words a body may have to count as thin: the
// PDF is the message.
const thinBodyWords = 80

func thinBody(m *message.Message) (int, bool) {
	n := len(strings.Fields(m.VisibleText()))
	return n, n < thinBodyWords
}

// attachPDFLinkThin: a PDF with a link and little text in a message that
// says little itself.
func attachPDFLinkThin(in *Input) (string, bool) { return pdfLure(in) }

// pdfLure finds a PDF with a link and little text in a thin message, and
// says so.
func pdfLure(in *Input) (string, bool) {
	a, ok := pdfLinkThin(in)
	if !ok {
		return "", false
	}
	words, thin := thinBody(in.Msg)
	if !thin {
		return "", false
	}
	return pdfDetail(a, words), true
}

// attachPDFLureFreemail: the same from a free-mail address. Companies send
// their documents from their own domain.
func attachPDFLureFreemail(in *Input) (string, bool) {
	from, ok := in.Msg.FirstAddress("From")
	if !ok {
		return "", false
	}
	d := from.Domain()
	if !in.Domains[d] && !in.Domains[registeredDomain(d)] {
		return "", false
	}
	detail, ok := pdfLure(in)
	if !ok {
		return "", false
	}
	return from.Addr + ", " + detail, true
}

func pdfDetail(a *message.Attachment, words int) string {
	s := nameOr(*a) + ": link"
	if len(a.Links) > 0 {
		s += " to " + a.Links[0].Host
	}
	if a.PDF.Encrypted {
		s += ", encrypted"
	} else {
		s += fmt.Sprintf(", %d characters of text", a.PDF.TextChars)
	}
	return s + fmt.Sprintf("; body of %d words", words)
}

// attachPDFActive: a PDF that runs JavaScript or launches a program when
// opened. Embedded files alone do not count: e-invoices (Factur-X,
// ZUGFeRD) carry their XML that way.
func attachPDFActive(in *Input) (string, bool) {
	for _, a := range in.Msg.Attachments() {
		p := a.PDF
		if p == nil {
			continue
		}
		switch {
		case p.Launch:
			return nameOr(a) + ": launch action", true
		case p.JavaScript:
			return nameOr(a) + ": JavaScript", true
		}
	}
	return "", false
}

// attachICSLinkStranger: a calendar invitation with a link to a site that
// is not the sender's, from a domain none of the recipients is at. Calendar
// programs put invitations on the calendar unasked, links and all.
func attachICSLinkStranger(in *Input) (string, bool) {
	from, ok := in.Msg.FirstAddress("From")
	if !ok {
		return "", false
	}
	fromReg := registeredDomain(from.Domain())
	for _, field := range []string{"To", "Cc"} {
		for _, r := range in.Msg.HeaderAddresses(field) {
			if registeredDomain(r.Domain()) == fromReg {
				return "", false // a colleague
			}
		}
	}
	for _, a := range in.Msg.Attachments() {
		if a.Sniffed != "ics" && a.Type != "text/calendar" && a.Ext() != ".ics" {
			continue
		}
		for _, l := range a.Links {
			if registeredDomain(l.Host) != fromReg {
				return fmt.Sprintf("%s from %s", l.Host, from.Addr), true
			}
		}
	}
	return "", false
}

func nameOr(a message.Attachment) string {
	if a.Name != "" {
		return message.ClipText(a.Name, 80)
	}
	return "unnamed " + a.Type
}

// entryPath names an archive entry with the archives that hold it.
func entryPath(a message.Attachment, e message.ArchiveEntry) string {
	p := nameOr(a) + ": "
	if e.In != "" {
		p += e.In + ": "
	}
	name := e.Name
	if utf8.RuneCountInString(name) > 80 {
		name = message.ClipText(name, 80)
	}
	return p + name
}
