package message

import (
	"bytes"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlResult is what an HTML part shows and hides.
type htmlResult struct {
	visible string
	hidden  string
	images  []Image
	tags    int
	// commentSplits counts comments placed inside a word (vi<!-- -->agra),
	// a trick to break words up for filters while the reader sees them whole.
	commentSplits int
	forms         int      // <form action=...>
	scripts       int      // <script>
	bigFonts      int      // <font size=5..7 or +N>
	entityRuns    int      // text written as 6+ numeric entities in a row
	mailtos       []string // mailto: links
	formList      []Form   // every <form>, with or without an action
	passwords     int      // <input type=password>, in a form or not
	inlineLinks   []string // data:, javascript: and vbscript: links, form actions, frames
}

// Bounds on HTML work: a tag soup of any size costs at most this many
// tokens, and nesting deeper than maxHTMLDepth is treated as flat.
const (
	maxHTMLTokens = 200000
	maxHTMLDepth  = 256
)

// htmlElem is an open element and the rendering state it sets.
type htmlElem struct {
	a      atom.Atom
	name   string // for an element without an atom (a is 0)
	hidden bool   // this element or an ancestor hides its text with CSS
	skip   bool   // script, style, head: never rendered
	fg, bg string // text and background colour in effect ("" = default)
	anchor bool   // this element opened a link
	inv    bool   // its text cannot be seen (invisible)
	// dim: fg and bg are set and too alike to read (similarColor). An
	// element inherits it with the colours, so only one that changes a
	// colour parses them again.
	dim bool
}

// parseHTML renders an HTML part to text the way a mail reader would
// show it, and collects its links and images into links.
func parseHTML(src string, links *linkSet) htmlResult {
	return parseHTMLFrom(strings.NewReader(src), len(src), links)
}

// parseHTMLFrom is parseHTML reading the size bytes of HTML from src.
func parseHTMLFrom(src io.Reader, size int, links *linkSet) htmlResult {
	var res htmlResult
	// The texts are copied out collapsed at the end: their buffers go back
	// to htmlTextBufs for the next part.
	visBox, hidBox := htmlTextBufs.Get().(*[]byte), htmlTextBufs.Get().(*[]byte)
	vis, hid := (*visBox)[:0], (*hidBox)[:0]
	defer func() {
		*visBox, *hidBox = vis, hid
		putHTMLTextBuf(visBox)
		putHTMLTextBuf(hidBox)
	}()
	vis = slices.Grow(vis, min(size/2, 64<<10)) // markup is at least half of most HTML mail
	z := html.NewTokenizer(src)
	z.SetMaxBuf(1 << 20)
	// The open elements, from a root with the reader's default colours
	// (not dim); room for the nesting of most mail from the start.
	stack := make([]htmlElem, 1, 16)
	stack[0] = htmlElem{bg: "#ffffff", fg: "#000000"}
	var anchorHref string
	// An anchor's text, gathered in one buffer for the part and clipped
	// into a string once, when the anchor closes.
	var anchorText []byte
	inAnchor := false
	closeAnchor := func() {
		if inAnchor {
			links.addClipped(anchorHref, clipText(anchorText, maxLinkText), "href")
			inAnchor = false
			anchorText = anchorText[:0]
		}
	}
	// A tag's attributes start in a buffer on the stack (most tags fit),
	// not grown from nothing in every HTML part.
	var attrBuf [16]attrKV
	attrs := attrList(attrBuf[:0])
	var tags tagReader
	curForm := -1           // the form inputs belong to, in res.formList
	prev := html.ErrorToken // the token before the current one
	lastLetter := false     // the last text token ended with a letter
	for tokens := 0; tokens < maxHTMLTokens; tokens++ {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		before := prev
		prev = tt
		top := stack[len(stack)-1]
		switch tt {
		case html.CommentToken:
			continue // lastLetter stays: a word may go on after the comment
		case html.TextToken:
			if top.skip {
				continue
			}
			if raw := z.Raw(); bytes.Contains(raw, []byte("&#")) && entityRun(raw) {
				res.entityRuns++
			}
			// The text stays in the tokenizer's buffer (valid until the
			// next token): only the URLs in it become strings.
			t := z.Text()
			if before == html.CommentToken && lastLetter && len(t) > 0 && isLetterByte(t[0]) {
				res.commentSplits++
			}
			lastLetter = len(t) > 0 && isLetterByte(t[len(t)-1])
			// Line ends in the HTML source are spaces on screen; only
			// block elements break lines.
			t = sourceBreaksToSpace(t)
			if top.invisible() {
				hid = append(hid, t...)
				continue
			}
			vis = append(vis, t...)
			if inAnchor {
				anchorText = append(anchorText, t...)
			} else if nextURLStart(t, 0) >= 0 {
				textURLs(string(t), func(u string) { links.add(u, u, "text") })
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			lastLetter = false
			var name []byte
			name, attrs = tags.tag(z, tt, attrs)
			a := atom.Lookup(name)
			res.tags++
			e := htmlElem{a: a, hidden: top.hidden, skip: top.skip, fg: top.fg, bg: top.bg, dim: top.dim}
			if a == 0 {
				e.name = string(name) // an element without an atom is closed by name
			}
			switch a {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template, atom.Noscript, atom.Object:
				e.skip = true
			}
			applyPresentation(&e, attrs)
			if e.fg != top.fg || e.bg != top.bg {
				e.dim = e.fg != "" && e.bg != "" && similarColor(e.fg, e.bg)
			}
			e.inv = e.hidden || e.dim
			if isBlock(a) && !e.skip {
				if e.invisible() {
					hid = append(hid, '\n')
				} else {
					vis = append(vis, '\n')
				}
			}
			switch a {
			case atom.A, atom.Area, atom.Iframe, atom.Frame, atom.Embed, atom.Form:
				for _, k := range []string{"href", "src", "action"} {
					if v := attrs.value(k); len(v) > 0 && inlineScheme(v) && len(res.inlineLinks) < MaxLinks {
						res.inlineLinks = append(res.inlineLinks, ClipText(string(v), maxLinkText))
					}
				}
			}
			switch a {
			case atom.A, atom.Area:
				if href := attrs.get("href"); len(href) > 7 && strings.EqualFold(href[:7], "mailto:") {
					if len(res.mailtos) < MaxLinks {
						res.mailtos = append(res.mailtos, href)
					}
				} else if href != "" && !e.skip {
					closeAnchor()
					if a == atom.A && tt == html.StartTagToken {
						inAnchor, anchorHref = true, href
						e.anchor = true
					} else {
						links.add(href, attrs.get("alt"), "href")
					}
				}
			case atom.Img, atom.Input:
				if a == atom.Input {
					typ := strings.ToLower(strings.TrimSpace(attrs.get("type")))
					countInput(&res, curForm, typ)
					if typ != "image" {
						break
					}
				}
				alt := attrs.get("alt")
				if src := attrs.value("src"); len(src) > 0 {
					links.addValue(src, alt, "src")
				}
				if !e.invisible() && !e.skip {
					res.images = append(res.images, Image{Source: "img", Width: atoiPx(attrs.value("width")), Height: atoiPx(attrs.value("height"))})
					if inAnchor && alt != "" {
						anchorText = append(append(append(anchorText, ' '), alt...), ' ')
					}
				}
			case atom.Iframe, atom.Frame, atom.Embed:
				if src := attrs.value("src"); len(src) > 0 {
					links.addValue(src, "", "src")
				}
			case atom.Form:
				act := attrs.get("action")
				if act != "" {
					links.add(act, "", "href")
					res.forms++
				}
				if len(res.formList) < maxForms {
					res.formList = append(res.formList, newForm(act, attrs.get("method")))
					curForm = len(res.formList) - 1
				}
			case atom.Script:
				res.scripts++
			case atom.Font:
				if bigFontSize(attrs.get("size")) {
					res.bigFonts++
				}
			case atom.Body, atom.Table, atom.Td, atom.Th, atom.Tr:
				if bgi := attrs.value("background"); len(bgi) > 0 {
					links.addValue(bgi, "", "src")
				}
			}
			if tt == html.StartTagToken && !isVoid(a) && len(stack) < maxHTMLDepth {
				stack = append(stack, e)
			}
		case html.EndTagToken:
			lastLetter = false
			name, _ := tags.tag(z, tt, nil)
			a := atom.Lookup(name)
			if isBlock(a) {
				vis = append(vis, '\n')
			}
			if a == atom.Form {
				curForm = -1
			}
			// Close up to the matching open element; ignore a stray end tag.
			for i := len(stack) - 1; i > 0; i-- {
				if stack[i].a == a && (a != 0 || stack[i].name == string(name)) {
					for j := len(stack) - 1; j >= i; j-- {
						if stack[j].anchor {
							closeAnchor()
						}
					}
					stack = stack[:i]
					break
				}
			}
		}
	}
	closeAnchor()
	res.visible = collapseSpace(vis)
	res.hidden = collapseSpace(hid)
	return res
}

// sourceBreaksToSpace makes each line end (CRLF, LF or CR) in t one
// space, in place: t is the tokenizer's text, which it is done with.
func sourceBreaksToSpace(t []byte) []byte {
	// Two IndexByte scans, not IndexAny, which builds a byte set for its
	// two bytes on every text token and then tests byte by byte.
	i := bytes.IndexByte(t, '\n')
	end := i
	if end < 0 {
		end = len(t)
	}
	if r := bytes.IndexByte(t[:end], '\r'); r >= 0 {
		i = r
	}
	if i < 0 {
		return t
	}
	n := i
	for ; i < len(t); i++ {
		switch t[i] {
		case '\r':
			if i+1 < len(t) && t[i+1] == '\n' {
				i++
			}
			t[n] = ' '
		case '\n':
			t[n] = ' '
		default:
			t[n] = t[i]
		}
		n++
	}
	return t[:n]
}

// attrList holds a tag's attributes as the tokenizer gives them, valid
// until the next token: looking one up allocates only the value returned.
type attrList []attrKV

type attrKV struct{ k, v []byte }

func (a attrList) get(k string) string {
	for _, kv := range a {
		if string(kv.k) == k {
			return string(kv.v)
		}
	}
	return ""
}

// value is the attribute's value in the tokenizer's buffer, nil when the
// tag has no such attribute.
func (a attrList) value(k string) []byte {
	for _, kv := range a {
		if string(kv.k) == k {
			return kv.v
		}
	}
	return nil
}

func (a attrList) has(k string) bool {
	for _, kv := range a {
		if string(kv.k) == k {
			return true
		}
	}
	return false
}

// readAttrs reads up to 64 attributes into buf (reused between tags).
func readAttrs(z *html.Tokenizer, more bool, buf attrList) attrList {
	buf = buf[:0]
	for n := 0; more && n < 64; n++ {
		var k, v []byte
		k, v, more = z.TagAttr()
		buf = append(buf, attrKV{k, v})
	}
	return buf
}

// applyPresentation works out, from an element's attributes and inline
// CSS, whether its text is hidden from the reader and in what colours.
func applyPresentation(e *htmlElem, attrs attrList) {
	if len(attrs) == 0 {
		return
	}
	if attrs.has("hidden") {
		e.hidden = true
	}
	if c := colorOf(attrs.value("bgcolor")); c != "" {
		e.bg = c
	}
	if e.a == atom.Font {
		if c := colorOf(attrs.value("color")); c != "" {
			e.fg = c
		}
		if sz := strings.TrimSpace(attrs.get("size")); sz == "0" || sz == "-3" || sz == "-4" {
			e.hidden = true
		}
	}
	if e.a == atom.Body {
		if c := colorOf(attrs.value("text")); c != "" {
			e.fg = c
		}
	}
	if style := attrs.value("style"); len(style) > 0 {
		var buf [256]byte
		applyStyle(e, lowerStyle(style, buf[:0]))
	}
}

// applyStyle reads an inline style, in lower case, declaration by
// declaration, in place: the tokenizer's bytes, no string per value (the
// conversions below stay on the stack).
func applyStyle(e *htmlElem, style []byte) {
	for rest := style; len(rest) > 0; {
		var decl []byte
		decl, rest, _ = bytes.Cut(rest, []byte(";"))
		prop, val, ok := bytes.Cut(decl, []byte(":"))
		if !ok {
			continue
		}
		prop = bytes.TrimSpace(prop)
		val = bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(val), []byte("!important")))
		switch string(prop) {
		case "display":
			if string(val) == "none" {
				e.hidden = true
			}
		case "visibility":
			if string(val) == "hidden" || string(val) == "collapse" {
				e.hidden = true
			}
		case "font-size":
			if tinySize(string(val)) {
				e.hidden = true
			}
		case "opacity":
			if f, err := strconv.ParseFloat(string(val), 64); err == nil && f < 0.1 {
				e.hidden = true
			}
		case "color":
			if c := colorOf(val); c != "" {
				e.fg = c
			}
		case "background-color", "background":
			if c := colorOf(firstWord(val)); c != "" {
				e.bg = c
			}
		case "max-height", "height":
			if tinySize(string(val)) && bytes.Contains(style, []byte("overflow:hidden")) {
				e.hidden = true
			}
		}
	}
}

// lowerStyle is the style in lower case: itself when it is in lower-case
// ASCII already (the usual inline CSS), else lower-cased into buf when it
// is ASCII and fits. Anything else goes through strings.ToLower, whose
// Unicode case mapping can turn a non-ASCII letter into an ASCII one
// (U+212A KELVIN SIGN to k).
func lowerStyle(style, buf []byte) []byte {
	upper := false
	for _, c := range style {
		if c >= utf8.RuneSelf {
			return []byte(strings.ToLower(string(style)))
		}
		upper = upper || 'A' <= c && c <= 'Z'
	}
	if !upper {
		return style
	}
	if cap(buf) < len(style) {
		buf = make([]byte, 0, len(style))
	}
	for _, c := range style {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf
}

// invisible tells whether text in this element cannot be seen: hidden by
// CSS, or written in (nearly) the colour of its background. It is worked
// out once, when the element opens, not for every text inside it.
func (e *htmlElem) invisible() bool { return e.inv }

// firstWord is the first field of s, as strings.Fields splits it (at
// Unicode white space), without the slice of every field.
func firstWord(s []byte) []byte {
	s = bytes.TrimLeftFunc(s, unicode.IsSpace)
	if i := bytes.IndexFunc(s, unicode.IsSpace); i >= 0 {
		return s[:i]
	}
	return s
}

// tinySize tells whether a CSS length renders text too small to read.
func tinySize(v string) bool {
	v = strings.ReplaceAll(v, " ", "")
	num := strings.TrimRight(v, "abcdefghijklmnopqrstuvwxyz%")
	unit := v[len(num):]
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return false
	}
	switch unit {
	case "px", "pt", "":
		return f < 3
	case "em", "rem":
		return f < 0.2
	case "%":
		return f < 20
	}
	return false
}

var namedColors = map[string]string{
	"white": "#ffffff", "black": "#000000", "red": "#ff0000", "green": "#008000",
	"blue": "#0000ff", "yellow": "#ffff00", "silver": "#c0c0c0", "gray": "#808080",
	"grey": "#808080", "navy": "#000080", "maroon": "#800000", "snow": "#fffafa",
	"ivory": "#fffff0", "whitesmoke": "#f5f5f5", "ghostwhite": "#f8f8ff",
}

// parseColor normalises an HTML or CSS colour to #rrggbb; "" if unknown.
func parseColor(v string) string {
	v = strings.ToLower(strings.Trim(strings.TrimSpace(v), "\"'"))
	if c, ok := namedColors[v]; ok {
		return c
	}
	h := strings.TrimPrefix(v, "#")
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) != 6 {
		return ""
	}
	if _, err := strconv.ParseUint(h, 16, 32); err != nil {
		return ""
	}
	return "#" + h
}

// colorOf is parseColor(string(v)) without a string of v, a lower-cased
// copy of it, or strconv's error for a colour that is not hex: a short
// ASCII value is lower-cased on the stack, and only a #rrggbb found costs
// an allocation (one). Anything else goes through parseColor:
// strings.ToLower can turn a non-ASCII letter into an ASCII one (U+212A
// KELVIN SIGN to k).
func colorOf(attr []byte) string {
	// The fallbacks get attr as it came: trimmed twice (space, quotes,
	// space), `"000\u2000"` would read as #000000 where parseColor finds
	// no colour.
	v := bytes.Trim(bytes.TrimSpace(attr), "\"'")
	var lowBuf [16]byte // longer than every name in namedColors and #rrggbb
	if len(v) > len(lowBuf) {
		return parseColor(string(attr))
	}
	low := lowBuf[:0]
	for _, c := range v {
		if c >= utf8.RuneSelf {
			return parseColor(string(attr))
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low = append(low, c)
	}
	if c, ok := namedColors[string(low)]; ok {
		return c
	}
	h := bytes.TrimPrefix(low, []byte("#"))
	var out [1 + 6]byte
	switch len(h) {
	case 3:
		out = [7]byte{'#', h[0], h[0], h[1], h[1], h[2], h[2]}
	case 6:
		out = [7]byte{'#', h[0], h[1], h[2], h[3], h[4], h[5]}
	default:
		return ""
	}
	for _, c := range out[1:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return ""
		}
	}
	return string(out[:])
}

// similarColor tells whether text in colour a is unreadable on b.
func similarColor(a, b string) bool {
	ra, _ := strconv.ParseUint(a[1:], 16, 32)
	rb, _ := strconv.ParseUint(b[1:], 16, 32)
	d := 0
	for shift := 0; shift <= 16; shift += 8 {
		x := int(ra>>shift&0xff) - int(rb>>shift&0xff)
		if x < 0 {
			x = -x
		}
		d += x
	}
	return d < 24
}

// atoiPx reads a width or height attribute in the tokenizer's buffer.
func atoiPx(v []byte) int {
	v = bytes.TrimSuffix(bytes.TrimSpace(v), []byte("px"))
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func isVoid(a atom.Atom) bool {
	switch a {
	case atom.Area, atom.Base, atom.Br, atom.Col, atom.Embed, atom.Hr, atom.Img, atom.Input,
		atom.Link, atom.Meta, atom.Param, atom.Source, atom.Track, atom.Wbr:
		return true
	}
	return false
}

func isBlock(a atom.Atom) bool {
	switch a {
	case atom.Br, atom.P, atom.Div, atom.Tr, atom.Td, atom.Th, atom.Li, atom.Ul, atom.Ol,
		atom.Table, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Hr,
		atom.Blockquote, atom.Pre, atom.Center, atom.Dd, atom.Dt, atom.Title:
		return true
	}
	return false
}

// htmlTextBufs hold parseHTMLFrom's visible and hidden text between parts;
// one grown past maxPooledScratch is left to the collector.
var htmlTextBufs = sync.Pool{New: func() any { return new([]byte) }}

func putHTMLTextBuf(b *[]byte) {
	if cap(*b) <= maxPooledScratch {
		*b = (*b)[:0]
		htmlTextBufs.Put(b)
	}
}

// collapseSpace turns runs of blanks into one space and keeps the line
// breaks of block elements: one break is a new line, more a new paragraph
// (one blank line), as a reader sees rendered HTML. A word of ASCII is
// written in one copy, not byte by byte; other runes one at a time.
func collapseSpace(s []byte) string {
	var b strings.Builder
	b.Grow(len(s))
	space, nl := false, 0
	for i := 0; i < len(s); {
		var word []byte // bytes written as they are
		switch c := s[i]; {
		case c == '\n':
			nl++
			space = false
			i++
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			space = true
			i++
			continue
		case c < utf8.RuneSelf:
			j := i + 1
			for j < len(s) && collapsePlain[s[j]] {
				j++
			}
			word, i = s[i:j], j
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == '\u00a0' {
				space = true
				i += size
				continue
			}
			word, i = s[i:i+size], i+size
			if r == utf8.RuneError && size == 1 {
				word = nil // an invalid byte becomes U+FFFD, as in a range loop
			}
		}
		if nl > 0 {
			if b.Len() > 0 {
				b.WriteByte('\n')
				if nl > 1 {
					b.WriteByte('\n') // a paragraph break
				}
			}
			nl = 0
		} else if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if word == nil {
			b.WriteRune(utf8.RuneError)
		} else {
			b.Write(word)
		}
	}
	return b.String()
}

// collapsePlain marks the ASCII bytes collapseSpace copies as they are:
// all but the blanks and the line break.
var collapsePlain = func() (t [256]bool) {
	for c := range utf8.RuneSelf {
		t[c] = c != '\n' && c != ' ' && c != '\t' && c != '\r' && c != '\f'
	}
	return t
}()

// bigFontSize tells whether a <font size> asks for very large lettering
// (5 to 7, or +2 and more).
func bigFontSize(v string) bool {
	v = strings.TrimSpace(v)
	if v == "" {
		return false
	}
	if v[0] == '+' {
		n, err := strconv.Atoi(v[1:])
		return err == nil && n >= 2
	}
	n, err := strconv.Atoi(v)
	return err == nil && n >= 5
}

// entityRun finds six or more numeric character references in a row
// (&#118;&#105;&#97;...), text spelled out to hide it from filters.
func entityRun(raw []byte) bool {
	run := 0
	for i := 0; i < len(raw); {
		if raw[i] == '&' && i+2 < len(raw) && raw[i+1] == '#' {
			j := i + 2
			if j < len(raw) && (raw[j] == 'x' || raw[j] == 'X') {
				j++
			}
			k := j
			for k < len(raw) && k-j < 8 && (raw[k] >= '0' && raw[k] <= '9' || raw[k]|0x20 >= 'a' && raw[k]|0x20 <= 'f') {
				k++
			}
			if k > j && k < len(raw) && raw[k] == ';' {
				run++
				if run >= 6 {
					return true
				}
				i = k + 1
				continue
			}
		}
		run = 0
		i++
	}
	return false
}

// isLetterByte tells an ASCII letter.
func isLetterByte(c byte) bool {
	c |= 0x20
	return c >= 'a' && c <= 'z'
}
