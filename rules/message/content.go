package message

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	message "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode every charset go-message knows to UTF-8
	"github.com/emersion/go-message/textproto"
	"golang.org/x/text/encoding/charmap"
)

// DefaultMaxScanBytes is how much decoded text per message the content
// rules read, like SpamAssassin's body_part_scan_size: spam says what it
// has to say early, and the cap bounds the work a huge message can cause.
const DefaultMaxScanBytes = 512 << 10

// Limits on MIME structure. Real mail stays far below them; a message that
// reaches one is reported (MIME findings) and read no further.
const (
	maxMIMEDepth  = 12
	maxMIMEParts  = 200
	maxFindings   = 20
	rawReadFactor = 16 // raw bytes walked per byte of scan budget (attachments are skipped, not decoded)
	minRawRead    = 8 << 20
)

// Part describes one leaf of the MIME tree.
type Part struct {
	// Type is the media type, lower case ("text/plain"); "text/plain" when
	// the part has no Content-Type.
	Type     string
	Charset  string
	Encoding string // Content-Transfer-Encoding, lower case
	Filename string
	// Attachment is set for Content-Disposition: attachment.
	Attachment bool
	// Size is the number of decoded bytes read (text parts, capped by the
	// scan budget) or the raw bytes of the part (other parts).
	Size int64
}

// Image is a picture the message shows: an <img> in HTML or an image part.
type Image struct {
	Source string // "img" or "part"
	Width  int    // 0 when not given
	Height int
	Bytes  int64 // size of an image part (raw, encoded bytes); 0 for <img>
}

// content is what the body says, computed once per message.
type content struct {
	plain    string // text/plain parts, decoded
	html     string // visible text of text/html parts
	hidden   string // HTML text hidden with CSS or same-colour fonts
	visible  string // plain + html: what the body rules read
	links    []Link
	domains  []string
	images   []Image
	parts    []Part
	findings []string
	alts     []Alternative // text and HTML versions of one multipart/alternative
	hasPlain bool
	hasHTML  bool
	htmlTags int // HTML elements seen
	// commentSplits counts words broken up by HTML comments
	commentSplits int
	// HTML features: forms, scripts, huge fonts, entity-spelled text
	forms, scripts, bigFonts, entityRuns int
	// mailto: links, from HTML and plain text
	mailtos []string
	// HTML forms, password inputs, data:/javascript: links
	formList    []Form
	passwords   int
	inlineLinks []string
	// base64Text is set when a text part that is plain ASCII anyway was
	// base64-encoded: no mail program needs to, filters-dodgers do.
	base64Text bool
	truncated  bool // the scan budget ran out
	// files the message carries (attachments.go)
	attachments []Attachment
}

// content parses the body on first use. It is safe for concurrent use.
func (m *Message) content() *content {
	m.contentOnce.Do(func() {
		limit := m.maxScan
		if limit <= 0 {
			limit = DefaultMaxScanBytes
		}
		m.body = parseContent(m, limit)
	})
	return m.body
}

// PlainText is the decoded text of the message's text/plain parts.
func (m *Message) PlainText() string { return m.content().plain }

// HTMLText is the visible text of the message's HTML parts, with script,
// style, comments and CSS-hidden text left out.
func (m *Message) HTMLText() string { return m.content().html }

// HiddenText is the text of HTML parts that a reader does not see:
// display:none, tiny fonts, text the colour of its background.
func (m *Message) HiddenText() string { return m.content().hidden }

// VisibleText is the text body rules read: the text/plain parts and the
// visible text of the HTML parts, decoded to UTF-8 and capped by the scan
// budget.
func (m *Message) VisibleText() string { return m.content().visible }

// Images lists the pictures the message shows.
func (m *Message) Images() []Image { return m.content().images }

// Parts lists the leaves of the MIME tree.
func (m *Message) Parts() []Part { return m.content().parts }

// MIMEFindings lists what was wrong with the MIME structure (a missing
// boundary, bad base64, an unknown charset). Broken MIME never stops the
// parse: the findings are evidence for the rules.
func (m *Message) MIMEFindings() []string { return m.content().findings }

// HeaderText returns the first named header field with RFC 2047 encoded
// words decoded to UTF-8. Undecodable words are left as written.
func (m *Message) HeaderText(name string) string {
	v := m.Header.Get(name)
	if v == "" {
		return ""
	}
	return DecodeHeader(v)
}

var wordDecoder = mime.WordDecoder{CharsetReader: func(cs string, r io.Reader) (io.Reader, error) {
	if message.CharsetReader == nil {
		return nil, fmt.Errorf("charset %q unsupported", cs)
	}
	return message.CharsetReader(strings.ToLower(cs), r)
}}

// DecodeHeader decodes RFC 2047 encoded words in a header value; a value
// that does not decode is returned as it is.
func DecodeHeader(v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	d, err := wordDecoder.DecodeHeader(v)
	if err != nil {
		return v
	}
	return strings.ToValidUTF8(d, "\uFFFD")
}

// declaredType is a part's Content-Type as go-message's Header.ContentType
// gives it: on a parse error, the field as written and no parameters.
type declaredType struct {
	mt     string
	params map[string]string
}

// walker walks the MIME tree with a budget of decoded text.
type walker struct {
	c       *content
	budget  int64
	plain   []string // text of each part, joined at the end
	html    []string
	hidden  []string
	links   linkSet
	nparts  int
	rawCut  *cutReader
	stopped bool
	// scratch holds one text part's decoded bytes at a time, and qp is the
	// quoted-printable decoder: one of each per walk, not per part.
	scratch    []byte
	scratchBox *[]byte // what carries scratch in scratchPool
	qp         *qpReader
	// attachBudget is what is left of MaxAttachmentBytes.
	attachBudget int64
}

func parseContent(m *Message, limit int64) *content {
	c := &content{}
	w := &walker{c: c, budget: limit, attachBudget: MaxAttachmentBytes}
	if box, ok := scratchPool.Get().(*[]byte); ok {
		w.scratch, *box, w.scratchBox = *box, nil, box
	}
	maxRaw := limit * rawReadFactor
	if maxRaw < minRawRead {
		maxRaw = minRawRead
	}
	w.rawCut = &cutReader{r: m.Body(), n: maxRaw}
	if m.HeaderErr != nil {
		w.finding("malformed top-level header")
	}
	w.entity(message.Header{Header: m.Header}, w.rawCut, 0, true)
	if w.qp != nil {
		w.qp.reset(nil)
		qpPool.Put(w.qp)
	}
	if w.scratch != nil && cap(w.scratch) <= maxPooledScratch {
		if w.scratchBox == nil {
			w.scratchBox = new([]byte) // not &w.scratch: the pool would keep w
		}
		*w.scratchBox = w.scratch[:0]
		scratchPool.Put(w.scratchBox)
	}
	c.plain = strings.TrimSpace(strings.Join(w.plain, "\n"))
	c.html = strings.TrimSpace(strings.Join(w.html, "\n"))
	c.hidden = strings.TrimSpace(strings.Join(w.hidden, "\n"))
	switch {
	case c.plain == "":
		c.visible = c.html
	case c.html == "":
		c.visible = c.plain
	default:
		c.visible = c.plain + "\n" + c.html
	}
	c.links = w.links.links
	c.domains = w.links.domains
	if w.budget <= 0 {
		c.truncated = true
	}
	return c
}

func (w *walker) finding(f string) {
	if w.rawCut.cut {
		return // a cut message looks broken at the end; that is our doing
	}
	if len(w.c.findings) < maxFindings {
		w.c.findings = append(w.c.findings, f)
	}
}

// entity reads one MIME entity. top is set for the message itself, where a
// missing Content-Type means text/plain and HTML sniffing applies.
func (w *walker) entity(h message.Header, body io.Reader, depth int, top bool) (plain, html string) {
	if w.stopped {
		return "", ""
	}
	w.nparts++
	if w.nparts > maxMIMEParts || depth > maxMIMEDepth {
		w.finding("too many MIME parts or too deeply nested")
		w.stopped = true
		return "", ""
	}
	mt, params, err := h.ContentType()
	ct := declaredType{mt, params} // as go-message's New reads it
	declared := h.Get("Content-Type") != ""
	if err != nil && declared {
		w.finding("unparseable Content-Type")
		mt, params = sniffType(h.Get("Content-Type")), map[string]string{}
	}
	if mt == "" {
		mt = "text/plain"
	}
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		return w.multipart(h, mt, params, ct, body, depth)
	case mt == "message/rfc822" || mt == "message/global":
		br := bufio.NewReader(body)
		th, err := textproto.ReadHeader(br)
		if err != nil {
			w.finding("malformed attached message header")
		}
		return w.entity(message.Header{Header: th}, br, depth+1, false)
	case strings.HasPrefix(mt, "text/") || !declared:
		return w.text(h, mt, params, ct, body, top && !declared)
	default:
		w.other(h, mt, params, body)
		return "", ""
	}
}

// sniffType takes the media type out of a Content-Type that mime could not
// parse (bad parameters), so `text/html; charset="x` is still HTML.
func sniffType(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if i := strings.IndexAny(v, "; \t"); i >= 0 {
		v = v[:i]
	}
	if strings.Count(v, "/") != 1 {
		return "text/plain"
	}
	return v
}

func (w *walker) multipart(h message.Header, mt string, params map[string]string, ct declaredType, body io.Reader, depth int) (plain, html string) {
	boundary := params["boundary"]
	if boundary == "" {
		w.finding(mt + " without a boundary")
		return w.text(h, "text/plain", params, ct, body, false)
	}
	mr := textproto.NewMultipartReader(body, boundary)
	var alt Alternative
	n := 0
	for !w.stopped {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if n == 0 {
				w.finding(mt + ": boundary not found")
			} else {
				w.finding(mt + ": missing closing boundary")
			}
			break
		}
		n++
		pt, ph := w.entity(message.Header{Header: p.Header}, p, depth+1, false)
		if alt.Plain == "" {
			alt.Plain = pt
		}
		if alt.HTML == "" {
			alt.HTML = ph
		}
	}
	if n == 0 && !w.stopped {
		w.finding(mt + " with no parts")
	}
	if mt == "multipart/alternative" && alt.Plain != "" && alt.HTML != "" {
		w.c.alts = append(w.c.alts, alt)
	}
	return alt.Plain, alt.HTML
}

// text decodes a text part into the plain or HTML text, within budget.
func (w *walker) text(h message.Header, mt string, params map[string]string, ct declaredType, body io.Reader, sniff bool) (plain, html string) {
	part := w.partInfo(h, mt, params)
	if w.qp == nil {
		w.qp = qpPool.Get().(*qpReader)
	}
	dec, chunked, err := decodeBody(h, ct.mt, ct.params, body, w.qp)
	switch {
	case errors.Is(err, errUnknownCharset):
		w.finding("unknown charset " + quoteShort(params["charset"]))
	case errors.Is(err, errUnknownEncoding):
		w.finding("unknown Content-Transfer-Encoding " + quoteShort(part.Encoding))
	}
	if w.budget <= 0 {
		w.c.parts = append(w.c.parts, part)
		if isFileText(part, mt) {
			w.textAttachment(part, mt, nil, false)
		}
		return "", ""
	}
	var data []byte
	if chunked {
		data, err = io.ReadAll(io.LimitReader(dec, w.budget))
	} else {
		data, err = readAtMost(dec, w.scratch, w.budget)
		w.scratch = data
	}
	switch {
	case err == nil || w.rawCut.cut:
	case errors.Is(err, io.ErrUnexpectedEOF) && !isDecodeError(err):
		w.finding(mt + " part not closed by its boundary")
	default:
		w.finding(fmt.Sprintf("%s part: bad %s encoding", mt, encodingName(part.Encoding)))
	}
	w.budget -= int64(len(data))
	part.Size = int64(len(data))
	w.c.parts = append(w.c.parts, part)
	ours := true // data may be overwritten
	if isFileText(part, mt) {
		w.textAttachment(part, mt, data, w.budget > 0)
		w.scratch = nil // what the peek kept may point into data
		ours = false
	}
	if part.Encoding == "base64" && !part.Attachment && len(data) > 0 && asciiShare(data) > 0.95 {
		w.c.base64Text = true
	}
	if mt == "text/html" && ours && utf8.Valid(data) {
		// The tokenizer copies what it reads into its own buffer: the
		// decoded bytes are read in place, not copied to a string first.
		src := dropCR(data)
		return "", w.keepHTML(parseHTMLFrom(bytes.NewReader(src), len(src), &w.links))
	}
	s := lfText(data, ours)
	if mt == "text/plain" && sniff && looksLikeHTML(s) {
		mt = "text/html"
		w.finding("HTML body without a text/html Content-Type")
	}
	if mt == "text/html" {
		return "", w.keepHTML(parseHTML(s, &w.links))
	}
	if part.Attachment && part.Filename != "" {
		return "", "" // an attached text file is not what the reader reads first
	}
	w.c.hasPlain = true
	textURLs(s, func(u string) { w.links.add(u, u, "text") })
	w.c.mailtos = append(w.c.mailtos, textMailtos(s)...)
	addText(&w.plain, s)
	return s, ""
}

// html keeps what an HTML part's parse found and returns its visible text.
func (w *walker) keepHTML(r htmlResult) string {
	w.c.hasHTML = true
	w.c.images = appendOrAdopt(w.c.images, r.images)
	w.c.htmlTags += r.tags
	w.c.commentSplits += r.commentSplits
	w.c.forms += r.forms
	w.c.scripts += r.scripts
	w.c.bigFonts += r.bigFonts
	w.c.entityRuns += r.entityRuns
	w.c.mailtos = appendOrAdopt(w.c.mailtos, r.mailtos)
	w.c.formList = appendOrAdopt(w.c.formList, r.formList)
	w.c.passwords += r.passwords
	w.c.inlineLinks = appendOrAdopt(w.c.inlineLinks, r.inlineLinks)
	addText(&w.html, r.visible)
	addText(&w.hidden, r.hidden)
	return r.visible
}

// appendOrAdopt is append(dst, src...), except that the first part's
// slice is taken as it is rather than copied: a part's result is its own
// and dropped after keepHTML, so a message with one HTML part makes no
// second copy of its images, mailtos, forms and inline links.
func appendOrAdopt[S ~[]E, E any](dst, src S) S {
	if len(dst) == 0 && len(src) > 0 {
		return src
	}
	return append(dst, src...)
}

// addText keeps a part's text, to be joined with line ends: the text of
// a message with one part of a kind is that part's, not a copy.
func addText(texts *[]string, s string) {
	if s != "" {
		*texts = append(*texts, s)
	}
}

// other records a non-text part; images are counted with their size.
func (w *walker) other(h message.Header, mt string, params map[string]string, body io.Reader) {
	part := w.partInfo(h, mt, params)
	n := w.binaryAttachment(h, part, body)
	part.Size = n
	w.c.parts = append(w.c.parts, part)
	if strings.HasPrefix(mt, "image/") {
		w.c.images = append(w.c.images, Image{Source: "part", Bytes: n})
	}
}

func (w *walker) partInfo(h message.Header, mt string, params map[string]string) Part {
	p := Part{Type: mt, Charset: strings.ToLower(params["charset"]),
		Encoding: strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))}
	if disp, dp, err := h.ContentDisposition(); err == nil {
		p.Attachment = disp == "attachment"
		p.Filename = dp["filename"]
	}
	if p.Filename == "" {
		p.Filename = params["name"]
	}
	return p
}

// isDecodeError tells a base64 or quoted-printable decoding failure from
// a part that merely ended early.
func isDecodeError(err error) bool {
	var ce base64.CorruptInputError
	return errors.As(err, &ce) || strings.Contains(err.Error(), "quotedprintable")
}

func encodingName(e string) string {
	if e == "" {
		return "7bit"
	}
	return e
}

func quoteShort(s string) string { return fmt.Sprintf("%q", ClipText(s, 40)) }

// lfText is data as UTF-8 text (toUTF8) with CRLF line ends made LF.
// Mail from SMTP has CRLF line ends, files on disk usually LF: one form,
// so paragraph splitting and every body rule read both alike. When data
// is ours to overwrite, valid UTF-8 (nearly all text) is copied once.
func lfText(data []byte, ours bool) string {
	if !ours || !utf8.Valid(data) {
		return strings.ReplaceAll(toUTF8(data), "\r\n", "\n")
	}
	return string(dropCR(data))
}

// dropCR makes every CR LF in data an LF, in place, and returns the
// shortened data.
func dropCR(data []byte) []byte {
	i := bytes.Index(data, []byte("\r\n"))
	if i < 0 {
		return data
	}
	// Each CR LF drops its CR: the run of bytes after it moves down in one
	// copy, not byte by byte.
	n := i
	for i < len(data) {
		i++ // past the CR of a CR LF at i
		j := bytes.Index(data[i:], []byte("\r\n"))
		if j < 0 {
			j = len(data) - i
		}
		n += copy(data[n:], data[i:i+j])
		i += j
	}
	return data[:n]
}

// toUTF8 returns data as valid UTF-8. Bytes that are not UTF-8 (8-bit text
// without a declared charset) are read as Windows-1252, what mail readers
// do with them in practice.
func toUTF8(data []byte) string {
	if utf8.Valid(data) {
		return string(data)
	}
	if out, err := charmap.Windows1252.NewDecoder().Bytes(data); err == nil {
		return string(out)
	}
	return strings.ToValidUTF8(string(data), "\uFFFD")
}

// looksLikeHTML tells whether an unlabelled body is HTML that a mail reader
// would render.
// Only the start is compared, ignoring ASCII case in place: no lower-cased
// copy of the whole text. (The only runes that lower-case to ASCII,
// U+0130 and U+212A, become an i and a k: in none of the tags.)
func looksLikeHTML(s string) bool {
	head := strings.TrimSpace(s)
	return hasPrefixFold(head, 0, "<html") || hasPrefixFold(head, 0, "<!doctype html") ||
		hasPrefixFold(head, 0, "<head") || hasPrefixFold(head, 0, "<body") ||
		hasPrefixFold(head, 0, "<meta") || hasPrefixFold(head, 0, "<table")
}

func asciiShare(b []byte) float64 {
	n := 0
	for _, c := range b {
		if c < 0x80 {
			n++
		}
	}
	return float64(n) / float64(len(b))
}

// cutReader reads at most n bytes and remembers whether it cut.
type cutReader struct {
	r   io.Reader
	n   int64
	cut bool
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		// Tell whether there was more to read.
		var one [1]byte
		if k, _ := c.r.Read(one[:]); k > 0 {
			c.cut = true
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	k, err := c.r.Read(p)
	c.n -= int64(k)
	return k, err
}

// textMailtos finds mailto: URLs written in text.
func textMailtos(s string) []string {
	var out []string
	for i := 0; len(out) < MaxLinks; {
		j := strings.Index(s[i:], "mailto:")
		if j < 0 {
			break
		}
		start := i + j
		end := start
		for end < len(s) && isURLByte(s[end]) {
			end++
		}
		out = append(out, s[start:end])
		i = end
	}
	return out
}

// Structure is what the MIME walk and the HTML parser found beyond the
// text: which renderings there are and the HTML features spam uses.
type Structure struct {
	HasPlain, HasHTML bool
	HTMLTags          int // HTML elements seen
	// CommentSplits counts words broken up by HTML comments.
	CommentSplits int
	// Forms, Scripts, BigFonts and EntityRuns count HTML forms, scripts,
	// huge fonts and runs of entity-spelled text.
	Forms, Scripts, BigFonts, EntityRuns int
	// Mailtos are the mailto: links, from HTML and plain text.
	Mailtos []string
	// HTMLForms are the HTML parts' <form> elements, with or without an
	// action (Forms counts those with one).
	HTMLForms []Form
	// PasswordInputs counts <input type=password>, in a form or not.
	PasswordInputs int
	// InlineLinks are the data:, javascript: and vbscript: URIs in links,
	// form actions and frames: a page or a script carried in the mail
	// itself instead of a web address (javascript:void(0) left out).
	InlineLinks []string
	// Base64Text is set when a text part that is plain ASCII anyway was
	// base64-encoded: no mail program needs to, filter-dodgers do.
	Base64Text bool
	// Truncated tells that the scan budget ran out.
	Truncated bool
	// Alternatives are the text and HTML renderings of each
	// multipart/alternative.
	Alternatives []Alternative
}

// Alternative holds the two renderings of one multipart/alternative.
type Alternative struct{ Plain, HTML string }

// Structure reports the message's structure (parsed on first use). Its
// slices are the message's own, shared by every reader: read, never modify.
func (m *Message) Structure() Structure {
	c := m.content()
	return Structure{
		HasPlain: c.hasPlain, HasHTML: c.hasHTML, HTMLTags: c.htmlTags,
		CommentSplits: c.commentSplits, Forms: c.forms, Scripts: c.scripts,
		BigFonts: c.bigFonts, EntityRuns: c.entityRuns, Mailtos: c.mailtos,
		HTMLForms: c.formList, PasswordInputs: c.passwords, InlineLinks: c.inlineLinks,
		Base64Text: c.base64Text, Truncated: c.truncated, Alternatives: c.alts,
	}
}
