package message

import (
	"io"
	"mime/quotedprintable"
	"unicode"
	"unicode/utf8"

	"bufio"
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"net"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/idna"
)

// The functions below are the link helpers as they were before they were
// made to allocate less; the fuzz tests hold the new ones to them.

func normaliseHostBefore(h string) string {
	h = strings.TrimSpace(h)
	if strings.HasPrefix(h, "[") {
		if j := strings.IndexByte(h, ']'); j > 0 {
			if a, err := netip.ParseAddr(h[1:j]); err == nil {
				return a.Unmap().String()
			}
		}
		return ""
	}
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	} else if j := strings.LastIndexByte(h, ':'); j >= 0 && strings.Count(h, ":") == 1 {
		h = h[:j]
	}
	h = strings.TrimRight(strings.ToLower(h), ".")
	if h == "" || len(h) > 253 {
		return ""
	}
	if !isASCII(h) {
		// IDNA mapping may itself produce digits (superscripts, full-width
		// forms), so the IP check comes after it.
		a, err := idna.Lookup.ToASCII(h)
		if err != nil {
			return ""
		}
		h = a
	}
	if ip, ok := parseLooseIPv4Before(h); ok {
		return ip
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return ""
		}
	}
	if strings.Contains(h, "..") || strings.HasPrefix(h, ".") {
		return ""
	}
	return h
}
func parseLooseIPv4Before(h string) (string, bool) {
	parts := strings.Split(h, ".")
	if len(parts) > 4 {
		return "", false
	}
	var vals []uint64
	for _, p := range parts {
		if p == "" {
			return "", false
		}
		base := 10
		digits := p
		switch {
		case strings.HasPrefix(p, "0x"):
			base, digits = 16, p[2:]
			if digits == "" {
				digits = "0"
			}
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
		}
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil {
			return "", false
		}
		vals = append(vals, v)
	}
	var ip uint64
	for i, v := range vals {
		if i < len(vals)-1 {
			if v > 255 {
				return "", false
			}
			ip |= v << (8 * (3 - i))
			continue
		}
		rest := 4 - i // bytes the last part fills
		if v >= 1<<(8*rest) {
			return "", false
		}
		ip |= v
	}
	return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}).String(), true
}
func inlineSchemeBefore(v string) bool {
	var b strings.Builder
	for i := 0; i < len(v) && b.Len() < 40; i++ {
		c := v[i]
		if c <= ' ' {
			continue
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	s := b.String()
	switch {
	case strings.HasPrefix(s, "data:"), strings.HasPrefix(s, "vbscript:"):
		return true
	case strings.HasPrefix(s, "javascript:"):
		rest := strings.TrimSuffix(strings.TrimPrefix(s, "javascript:"), ";")
		switch rest {
		case "", "void(0)", "void0", "void(null)", "//", "false", "return(false)", "returnfalse":
			return false
		}
		return true
	}
	return false
}

func nextURLStartBefore(s string, i int) int {
	for ; i < len(s); i++ {
		c := s[i] | 0x20
		if c != 'h' && c != 'w' && c != 'f' {
			continue
		}
		if i > 0 && isWordByte(s[i-1]) {
			continue
		}
		rest := s[i:]
		if len(rest) > 12 {
			rest = rest[:12]
		}
		rest = strings.ToLower(rest)
		if strings.HasPrefix(rest, "http://") || strings.HasPrefix(rest, "https://") ||
			strings.HasPrefix(rest, "ftp://") || strings.HasPrefix(rest, "www.") && len(rest) > 5 && isWordByte(rest[4]) {
			return i
		}
	}
	return -1
}

// nextURLStartScan is nextURLStart before it jumped to the ':' and '.'
// bytes: every position tried in turn.
func nextURLStartScan[T ~string | ~[]byte](s T, i int) int {
	for ; i < len(s); i++ {
		c := s[i] | 0x20
		if c != 'h' && c != 'w' && c != 'f' {
			continue
		}
		if i > 0 && isWordByte(s[i-1]) {
			continue
		}
		if hasPrefixFold(s, i, "http://") || hasPrefixFold(s, i, "https://") ||
			hasPrefixFold(s, i, "ftp://") || hasPrefixFold(s, i, "www.") && len(s)-i > 5 && isWordByte(s[i+4]) {
			return i
		}
	}
	return -1
}

// FuzzNextURLStart holds nextURLStart, which tries only the positions
// before a ':' or a '.', to the scan of every position it replaced, on
// text and on bytes, from every offset (the window edge included: a
// seed puts a URL past urlMarkWindow bytes without either byte).
func FuzzNextURLStart(f *testing.F) {
	for _, s := range []string{"see http://x.example/", "HTTPS://X", "wWw.example.com", "xhttp://no", "ftp://f", "www.", "www.\xff", "w.ww.www.x",
		"http:http://a", ".:.:www.x", strings.Repeat("a", 600) + " www.x", strings.Repeat("a", 509) + " https://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i := 0; i <= len(s); i++ {
			want := nextURLStartScan(s, i)
			if got := nextURLStart(s, i); got != want {
				t.Fatalf("nextURLStart(%q, %d) = %d, before %d", s, i, got, want)
			}
			if got := nextURLStart([]byte(s), i); got != want {
				t.Fatalf("nextURLStart([]byte(%q), %d) = %d, before %d", s, i, got, want)
			}
		}
	})
}

// looksLikeHTMLBefore is looksLikeHTML when it lower-cased the whole text.
func looksLikeHTMLBefore(s string) bool {
	head := strings.ToLower(strings.TrimSpace(s))
	if len(head) > 512 {
		head = head[:512]
	}
	return strings.HasPrefix(head, "<html") || strings.HasPrefix(head, "<!doctype html") ||
		strings.HasPrefix(head, "<head") || strings.HasPrefix(head, "<body") ||
		strings.HasPrefix(head, "<meta") || strings.HasPrefix(head, "<table")
}

// FuzzLooksLikeHTML holds looksLikeHTML, which compares the start in
// place, to the lower-casing of the whole text it replaced (Unicode
// space, invalid UTF-8 and the runes that lower-case to ASCII among the
// seeds).
func FuzzLooksLikeHTML(f *testing.F) {
	for _, s := range []string{"<HTML>", " \r\n<!DOCTYPE html>", "\u00a0<Body>", "\u0085<meta", "<TaBlE", "<htm", "<\u212aeta", "<\u0130", "\xff<html", "<h\xffead", "text <html>", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := looksLikeHTML(s), looksLikeHTMLBefore(s); got != want {
			t.Fatalf("looksLikeHTML(%q) = %v, before %v", s, got, want)
		}
	})
}

// inflateBefore is how a PDF stream was inflated before inflater: a
// fresh zlib reader per stream, read to the end into a new slice.
func inflateBefore(b []byte, limit int) []byte {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	defer zr.Close()
	out, _ := io.ReadAll(io.LimitReader(zr, int64(limit)))
	return out
}

// FuzzInflater holds one inflater reused over a sequence of streams (good,
// truncated, corrupt, not zlib at all) to a fresh reader per stream.
func FuzzInflater(f *testing.F) {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte("BT (Hello) Tj ET /URI (http://x.example/) " + strings.Repeat("q 1 0 0 1 0 0 cm Q ", 50)))
	zw.Close()
	good := z.Bytes()
	f.Add(good, 3, 1000)
	f.Add(good[:len(good)/2], 2, 10)
	f.Add(append([]byte("x"), good...), 1, 1000)
	f.Add([]byte{0x78, 0x9c, 0xff, 0xff}, 5, 64)
	f.Fuzz(func(t *testing.T, data []byte, cuts int, limit int) {
		limit = 1 + int(uint(limit)%(300<<10))
		fl := new(inflater)
		// The streams: data itself, then data cut at a few points, then
		// data again, so a reader that failed or stopped early is reused.
		streams := [][]byte{data}
		for k := 1; k <= int(uint(cuts)%4) && len(data) > 0; k++ {
			streams = append(streams, data[:len(data)*k/5], data[len(data)*k/5:])
		}
		streams = append(streams, good, data)
		for _, s := range streams {
			got, want := fl.inflate(s, limit), inflateBefore(s, limit)
			if !bytes.Equal(got, want) {
				t.Fatalf("inflate(%x, %d) = %x, before %x", s, limit, got, want)
			}
		}
	})
}

var sourceBreaksBefore = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

// FuzzTextScan holds nextURLStart (now on bytes too, without ToLower) and
// sourceBreaksToSpace (in place, not a Replacer) to the code before.
func FuzzTextScan(f *testing.F) {
	for _, s := range []string{"see http://x.example/", "HTTPS://X", "wWw.example.com", "xhttp://no", "ftp://f", "www.", "a\r\nb\rc\n\r\n", "\u212aHTTP://k", "www.\xffx", "www.\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// On invalid UTF-8 the old code's ToLower turned a stray byte into
		// a three-byte U+FFFD, so "www.\xff" passed its length test: an
		// artifact, not a rule. There FuzzNextURLStart holds nextURLStart
		// to the byte-level scan instead.
		for i := 0; i <= len(s) && utf8.ValidString(s); i++ {
			want := nextURLStartBefore(s, i)
			if got := nextURLStart(s, i); got != want {
				t.Fatalf("nextURLStart(%q, %d) = %d, before %d", s, i, got, want)
			}
			if got := nextURLStart([]byte(s), i); got != want {
				t.Fatalf("nextURLStart([]byte(%q), %d) = %d, before %d", s, i, got, want)
			}
		}
		if got, want := string(sourceBreaksToSpace([]byte(s))), sourceBreaksBefore.Replace(s); got != want {
			t.Fatalf("sourceBreaksToSpace(%q) = %q, before %q", s, got, want)
		}
	})
}

// parseHTMLBefore is parseHTML before tagReader and the in-place text.
func parseHTMLBefore(src string, links *linkSet) htmlResult {
	var res htmlResult
	var vis, hid strings.Builder
	z := html.NewTokenizer(strings.NewReader(src))
	z.SetMaxBuf(1 << 20)
	stack := []htmlElem{{bg: "#ffffff", fg: "#000000"}} // a root with the reader's default colours
	var anchorHref string
	var anchorText strings.Builder
	inAnchor := false
	closeAnchor := func() {
		if inAnchor {
			links.add(anchorHref, anchorText.String(), "href")
			inAnchor = false
			anchorText.Reset()
		}
	}
	var attrs attrList
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
			t := string(z.Text())
			if before == html.CommentToken && lastLetter && t != "" && isLetterByte(t[0]) {
				res.commentSplits++
			}
			lastLetter = t != "" && isLetterByte(t[len(t)-1])
			if strings.ContainsAny(t, "\r\n") {
				// Line ends in the HTML source are spaces on screen; only
				// block elements break lines.
				t = sourceBreaksBefore.Replace(t)
			}
			if invisibleBefore(&top) {
				hid.WriteString(t)
				continue
			}
			vis.WriteString(t)
			if inAnchor {
				anchorText.WriteString(t)
			} else {
				textURLs(t, func(u string) { links.add(u, u, "text") })
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			lastLetter = false
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			res.tags++
			attrs = readAttrs(z, hasAttr, attrs)
			e := htmlElem{a: a, name: string(name), hidden: top.hidden, skip: top.skip, fg: top.fg, bg: top.bg}
			switch a {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template, atom.Noscript, atom.Object:
				e.skip = true
			}
			applyPresentation(&e, attrs)
			if isBlock(a) && !e.skip {
				if invisibleBefore(&e) {
					hid.WriteByte('\n')
				} else {
					vis.WriteByte('\n')
				}
			}
			switch a {
			case atom.A, atom.Area, atom.Iframe, atom.Frame, atom.Embed, atom.Form:
				for _, k := range []string{"href", "src", "action"} {
					if v := attrs.get(k); v != "" && inlineScheme(v) && len(res.inlineLinks) < MaxLinks {
						res.inlineLinks = append(res.inlineLinks, ClipText(v, maxLinkText))
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
				if src := attrs.get("src"); src != "" {
					links.add(src, attrs.get("alt"), "src")
				}
				if !invisibleBefore(&e) && !e.skip {
					res.images = append(res.images, Image{Source: "img", Width: atoiPxBefore(attrs.get("width")), Height: atoiPxBefore(attrs.get("height"))})
					if inAnchor && attrs.get("alt") != "" {
						anchorText.WriteString(" " + attrs.get("alt") + " ")
					}
				}
			case atom.Iframe, atom.Frame, atom.Embed:
				if src := attrs.get("src"); src != "" {
					links.add(src, "", "src")
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
				if bgi := attrs.get("background"); bgi != "" {
					links.add(bgi, "", "src")
				}
			}
			if tt == html.StartTagToken && !isVoid(a) && len(stack) < maxHTMLDepth {
				stack = append(stack, e)
			}
		case html.EndTagToken:
			lastLetter = false
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if isBlock(a) {
				vis.WriteByte('\n')
			}
			if a == atom.Form {
				curForm = -1
			}
			// Close up to the matching open element; ignore a stray end tag.
			for i := len(stack) - 1; i > 0; i-- {
				if stack[i].name == string(name) {
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
	res.visible = collapseSpaceBefore(vis.String())
	res.hidden = collapseSpaceBefore(hid.String())
	return res
}

func invisibleBefore(e *htmlElem) bool {
	return e.hidden || e.fg != "" && e.bg != "" && similarColor(e.fg, e.bg)
}

// FuzzParseHTML holds parseHTML to parseHTMLBefore: the same visible and
// hidden text, findings and links on any HTML.
func FuzzParseHTML(f *testing.F) {
	for _, s := range tagReaderSeeds {
		f.Add(s)
	}
	f.Add("<html><body bgcolor=white><font color=#fffffe>hidden</font> vi<!-- -->agra\r\nsee www.x.example <a HREF=\"http://a.example/?u=http://b.example/\">click <img src=x.gif alt=Buy></a><div style=\"display:none\">n</div><p>&#118;&#105;&#97;&#103;&#114;&#97;</p><foo>x</foo><FORM action=//f.example><input type=password></form></body></html>")
	f.Add("<body bgcolor=white><font color=#fffffe><b>bold and hidden</b><span style=\"color:#000\">seen</span></font></body>")
	f.Add("<a href=\"javascript:alert(1)\" src=data:x><img width=\" 120px\" height=+3 src=\"http://i.example/\" alt=\"Buy now\"><img width=99999999999999999999 alt=\"\"></a><iframe src=\" JaVa\tscript:x\"></iframe>")
	data, err := os.ReadFile("testdata/mime-5k.eml")
	if err == nil { // the 5 KB message's HTML part
		part := data[bytes.Index(data, []byte("<!DOCTYPE")):bytes.LastIndex(data, []byte("--=_nw_"))]
		if html, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(part))); err == nil {
			f.Add(string(html))
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		var gotLinks, wantLinks linkSet
		got := parseHTML(src, &gotLinks)
		want := parseHTMLBefore(src, &wantLinks)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("parseHTML(%q) =\n%+v\nbefore\n%+v", src, got, want)
		}
		if !reflect.DeepEqual(gotLinks.links, wantLinks.links) || !reflect.DeepEqual(gotLinks.domains, wantLinks.domains) {
			t.Fatalf("parseHTML(%q) links %+v, before %+v", src, gotLinks.links, wantLinks.links)
		}
	})
}

func normaliseURLBefore(raw string) (l Link, ok bool) {
	raw = strings.TrimSpace(raw)
	raw = strings.Trim(raw, "\"'<>")
	if raw == "" || len(raw) > 4096 {
		return Link{}, false
	}
	l.URL = raw
	s := raw
	// Browsers read http:\\host as http://host.
	s = strings.ReplaceAll(s, "\\", "/")
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"), strings.HasPrefix(lower, "ftp://"):
	case strings.HasPrefix(lower, "http:/"), strings.HasPrefix(lower, "https:/"):
		// http:/host: one slash is still followed by browsers.
		i := strings.Index(s, ":/")
		s = s[:i] + "://" + strings.TrimLeft(s[i+2:], "/")
	case strings.HasPrefix(lower, "//"):
		s = "http:" + s
	case strings.HasPrefix(lower, "www."):
		s = "http://" + s
	default:
		return Link{}, false
	}
	host, userinfo := hostOf(s)
	if host == "" {
		return Link{}, false
	}
	l.Host = host
	l.Target = raw
	l.UserInfo = userinfo
	return l, true
}

func FuzzNormaliseURL(f *testing.F) {
	for _, s := range []string{"HTTP://Example.com/x", "hTtPs:/host", "http:\\\\evil", "//cdn.example/x", "WWW.example.com", "ftp://f", "mailto:x", " 'https://x' ", "\u212aHTTP://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, gotOK := NormaliseURL(raw)
		want, wantOK := normaliseURLBefore(raw)
		if gotOK != wantOK || !reflect.DeepEqual(got, want) {
			t.Fatalf("NormaliseURL(%q) = %+v %v, before %+v %v", raw, got, gotOK, want, wantOK)
		}
	})
}

func FuzzNormaliseHost(f *testing.F) {
	for _, s := range []string{"Example.COM.", "host:8080", "[::1]:25", "3232235777", "0xC0.0xA8.0.1", "0X10.1", "a:b:c", "bücher.de", "1.2.3.4:", "0x", "08.1", "१२३"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if got, want := NormaliseHost(h), normaliseHostBefore(h); got != want {
			t.Fatalf("NormaliseHost(%q) = %q, before %q", h, got, want)
		}
	})
}

func FuzzInlineScheme(f *testing.F) {
	for _, s := range []string{"data:text/html,x", " JavaScript:void(0);", "java\tscript:alert(1)", "vbscript:x", "https://x", "javascript:", strings.Repeat(" ", 50) + "data:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		want := inlineSchemeBefore(v)
		if got := inlineScheme(v); got != want {
			t.Fatalf("inlineScheme(%q) = %v, before %v", v, got, want)
		}
		if got := inlineScheme([]byte(v)); got != want {
			t.Fatalf("inlineScheme([]byte(%q)) = %v, before %v", v, got, want)
		}
	})
}

// applyPresentationBefore is applyPresentation before the style was read
// in place: the whole style a string, lower-cased and split into a slice.
func applyPresentationBefore(e *htmlElem, attrs attrList) {
	if len(attrs) == 0 {
		return
	}
	if attrs.has("hidden") {
		e.hidden = true
	}
	if c := parseColor(attrs.get("bgcolor")); c != "" {
		e.bg = c
	}
	if e.a == atom.Font {
		if c := parseColor(attrs.get("color")); c != "" {
			e.fg = c
		}
		if sz := strings.TrimSpace(attrs.get("size")); sz == "0" || sz == "-3" || sz == "-4" {
			e.hidden = true
		}
	}
	if e.a == atom.Body {
		if c := parseColor(attrs.get("text")); c != "" {
			e.fg = c
		}
	}
	if style := attrs.get("style"); style != "" {
		for _, decl := range strings.Split(strings.ToLower(style), ";") {
			prop, val, ok := strings.Cut(decl, ":")
			if !ok {
				continue
			}
			prop = strings.TrimSpace(prop)
			val = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(val), "!important"))
			switch prop {
			case "display":
				if val == "none" {
					e.hidden = true
				}
			case "visibility":
				if val == "hidden" || val == "collapse" {
					e.hidden = true
				}
			case "font-size":
				if tinySize(val) {
					e.hidden = true
				}
			case "opacity":
				if f, err := strconv.ParseFloat(val, 64); err == nil && f < 0.1 {
					e.hidden = true
				}
			case "color":
				if c := parseColor(val); c != "" {
					e.fg = c
				}
			case "background-color", "background":
				if c := parseColor(firstWordBefore(val)); c != "" {
					e.bg = c
				}
			case "max-height", "height":
				if tinySize(val) && strings.Contains(strings.ToLower(attrs.get("style")), "overflow:hidden") {
					e.hidden = true
				}
			}
		}
	}
}

func firstWordBefore(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// FuzzApplyPresentation holds applyPresentation to applyPresentationBefore:
// the same hidden flag and colours for any style, colour and element.
func FuzzApplyPresentation(f *testing.F) {
	for _, s := range []string{
		"display:none", "COLOR: #FFF; background-color: white !important",
		"font-size:1px", "height:0;overflow:hidden", "opacity:0.05", "bac\u212aground:#fff",
		"visibility:Hidden;", ";;:;", "max-height:1PX; OVERFLOW:HIDDEN", "background: \u2003 Red\u00a0x", "background:\xff white",
		"COLOR:" + strings.Repeat("A", 300),
	} {
		f.Add(s, "#fff", uint8(0))
	}
	elems := []atom.Atom{atom.Div, atom.Font, atom.Body, atom.Td}
	f.Fuzz(func(t *testing.T, style, color string, el uint8) {
		attrs := attrList{{[]byte("style"), []byte(style)}, {[]byte("bgcolor"), []byte(color)}, {[]byte("color"), []byte(color)}}
		a := elems[int(el)%len(elems)]
		got, want := htmlElem{a: a, fg: "#000000"}, htmlElem{a: a, fg: "#000000"}
		applyPresentation(&got, attrs)
		applyPresentationBefore(&want, attrs)
		if got != want {
			t.Fatalf("style %q color %q: got %+v, want %+v", style, color, got, want)
		}
	})
}

// pathURLBefore is pathURL before indexSlashFold: the path lower-cased
// and the whole path and query joined for every link.
func pathURLBefore(path, query string) (string, bool) {
	lower := strings.ToLower(path)
	whole := path
	if query != "" {
		whole += "?" + query
	}
	for _, pre := range []string{"/http://", "/https://", "/http:/", "/https:/", "/http%3a%2f%2f", "/https%3a%2f%2f"} {
		k := strings.Index(lower, pre)
		if k < 0 {
			continue
		}
		s := whole[k+1:]
		if strings.Contains(pre, "%") {
			if d, err := url.PathUnescape(s); err == nil {
				s = d
			} else {
				continue
			}
		}
		return s, true
	}
	if k := strings.Index(lower, "/amp/s/"); k >= 0 && len(path) > k+7 {
		return "https://" + whole[k+7:], true
	}
	return "", false
}

// FuzzPathURL holds pathURL to pathURLBefore on any path and query.
func FuzzPathURL(f *testing.F) {
	for _, s := range []string{
		"/out/HTTPS://evil.example/x", "/r/https%3A%2F%2Fevil.example%2F", "/amp/s/host/p",
		"/AMP/S/", "/\u0130/https://x/", "/ht", "/http:/x", "//https%3a%2f%2f%zz",
	} {
		f.Add(s, "a=b")
	}
	f.Fuzz(func(t *testing.T, path, query string) {
		got, gotOK := pathURL(path, query)
		if !lowerKeepsOffsets(path) {
			// The code before read offsets of the lower-cased path in the
			// path (TestPathURLNonASCII); equal lengths are not enough
			// ("İ" shrinks, an invalid byte grows, "İ/http:/İ\xdc").
			return
		}
		want, wantOK := pathURLBefore(path, query)
		if got != want || gotOK != wantOK {
			t.Fatalf("pathURL(%q, %q) = %q, %v; want %q, %v", path, query, got, gotOK, want, wantOK)
		}
	})
}

// queryURLBefore is queryURL before it read the parameters in place.
func queryURLBefore(query string) (string, bool) {
	if query == "" {
		return "", false
	}
	var found []struct{ key, val string }
	for n, kv := range strings.FieldsFunc(query, func(r rune) bool { return r == '&' || r == ';' }) {
		if n >= maxRedirectParams {
			break
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || len(v) < 8 {
			continue
		}
		if d, ok := paramURL(v); ok {
			found = append(found, struct{ key, val string }{strings.ToLower(k), d})
		}
	}
	if len(found) == 0 {
		return "", false
	}
	for _, p := range redirectParams {
		for _, f := range found {
			if f.key == p {
				return f.val, true
			}
		}
	}
	return found[0].val, true
}

// FuzzQueryURL holds queryURL to queryURLBefore on any query.
func FuzzQueryURL(f *testing.F) {
	for _, s := range []string{
		"q=https://evil.example/&sa=D", ";;&&u=http%3A%2F%2Fx.example%2F", "x=1&url=https://a.example/;r=http://b.example/",
		strings.Repeat("a=b&", 40) + "url=https://late.example/", "u=a1aHR0cHM6Ly9ldmlsLmV4YW1wbGU&\xff&",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		got, gotOK := queryURL(query)
		want, wantOK := queryURLBefore(query)
		if got != want || gotOK != wantOK {
			t.Fatalf("queryURL(%q) = %q, %v; want %q, %v", query, got, gotOK, want, wantOK)
		}
	})
}

// atoiPxBefore is atoiPx on a string, before it read the tokenizer's bytes.
func atoiPxBefore(v string) int {
	v = strings.TrimSuffix(strings.TrimSpace(v), "px")
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// sniffContentBefore is sniffContent before it stopped at a first byte no
// name starts with: the text names were looked for in a lower-cased copy.
func sniffContentBefore(b []byte) string {
	if s := sniffContent(b); s != "" && s != "ics" && s != "svg" && s != "html" {
		return s // a magic number, decided before the text names
	}
	head := bytes.TrimLeft(b[:min(len(b), 1024)], "\xef\xbb\xbf \t\r\n")
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

// FuzzSniffContent holds sniffContent's early stop to the lower-cased
// search it skips.
func FuzzSniffContent(f *testing.F) {
	for _, s := range []string{"", "\xff\xd8\xff\xe0", "<HTML>", "BEGIN:VCALENDAR", "\xef\xbb\xbf <svg", "<?xml x<SVG",
		"<!-- <script", "\xc4\xb0<html", "\xe2\x84\xaa", "b", "<scr\xc4\xb0pt", "%PDF-1.4", "PK\x03\x04"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := sniffContent(b), sniffContentBefore(b); got != want {
			t.Fatalf("sniffContent(%q) = %q, before %q", b, got, want)
		}
	})
}

// TestOnlyThemselvesLowerToLessThanAndB: sniffContent's early stop rests on
// no character but '<', 'b' and 'B' lower-casing to '<' or 'b'.
func TestOnlyThemselvesLowerToLessThanAndB(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if l := unicode.ToLower(r); (l == '<' || l == 'b') && r != '<' && r != 'b' && r != 'B' {
			t.Errorf("%U lower-cases to %q", r, l)
		}
	}
}

// collapseSpaceBefore is collapseSpace when it read the builders' strings,
// before the texts were kept in pooled byte buffers.
func collapseSpaceBefore(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space, nl := false, 0
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		switch r {
		case '\n':
			nl++
			space = false
			continue
		case ' ', '\t', '\r', '\f', '\u00a0':
			space = true
			continue
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
		if r < utf8.RuneSelf {
			b.WriteByte(byte(r))
		} else {
			b.WriteRune(r) // an invalid byte becomes U+FFFD, as in a range loop
		}
	}
	return b.String()
}

// FuzzCollapseSpace holds collapseSpace on bytes to the string version.
func FuzzCollapseSpace(f *testing.F) {
	for _, s := range []string{"", " a  b ", "a\n\n\nb", "\u00a0x\t\ry\f", "\xff \xc2", "\n a \n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := collapseSpace(b), collapseSpaceBefore(string(b)); got != want {
			t.Fatalf("collapseSpace(%q) = %q, before %q", b, got, want)
		}
	})
}

// headerSizeBefore is HeaderSize with a new bufio.Reader per call, as it
// was before the readers were pooled.
func headerSizeBefore(raw io.ReaderAt, size, limit int64) (n int64, complete bool) {
	br := bufio.NewReader(io.NewSectionReader(raw, 0, size))
	continued := false
	for n <= limit {
		line, err := br.ReadSlice('\n')
		n += int64(len(line))
		if errors.Is(err, bufio.ErrBufferFull) {
			continued = true
			continue
		}
		if !continued && len(line) > 0 && len(bytes.TrimRight(line, "\r\n")) == 0 {
			return n, n <= limit
		}
		continued = false
		if err != nil {
			return n, n <= limit
		}
	}
	return n, false
}

// FuzzHeaderSize holds the pooled HeaderSize to the unpooled one, on two
// messages in a row so a reused reader carries nothing over.
func FuzzHeaderSize(f *testing.F) {
	long := strings.Repeat("X-Long: "+strings.Repeat("a", 70)+"\r\n", 80)
	f.Add("Subject: a\r\n\r\nbody", "From: b\r\n", int64(100))
	f.Add(long+"\r\nbody", "\r\n", int64(1<<20))
	f.Add("A: "+strings.Repeat("b", 5000)+"\r\n\r\n", "A: b\n\nc", int64(4000))
	f.Add("no end of header", "A: b\r\r\n\r\n", int64(3))
	f.Fuzz(func(t *testing.T, a, b string, limit int64) {
		for _, msg := range []string{a, b} {
			raw := strings.NewReader(msg)
			n, ok := HeaderSize(raw, int64(len(msg)), limit)
			wn, wok := headerSizeBefore(raw, int64(len(msg)), limit)
			if n != wn || ok != wok {
				t.Fatalf("HeaderSize(%q, %d) = %d, %v; before: %d, %v", msg, limit, n, ok, wn, wok)
			}
		}
	})
}

// linkSetBefore is linkSet before it scanned its few kept links for a
// repeat: two maps from the first link on.
type linkSetBefore struct {
	links   []Link
	seen    map[linkKey]bool
	domains []string
	dseen   map[string]bool
}

func (s *linkSetBefore) add(raw, text, source string) {
	if len(s.links) >= MaxLinks {
		return
	}
	l, ok := ResolveURL(raw)
	if !ok {
		return
	}
	l.Text = ClipText(text, maxLinkText)
	l.Source = source
	if s.seen == nil {
		s.seen = make(map[linkKey]bool)
		s.dseen = make(map[string]bool)
	}
	key := linkKey{l.URL, l.Text, l.Source}
	if s.seen[key] {
		return
	}
	s.seen[key] = true
	s.links = append(s.links, l)
	for _, h := range l.Via {
		s.addDomain(h.Host)
	}
	s.addDomain(l.Host)
}

func (s *linkSetBefore) addDomain(h string) {
	if !s.dseen[h] {
		s.dseen[h] = true
		s.domains = append(s.domains, h)
	}
}

// FuzzLinkSet holds linkSet, which scans its first linkScanMax links and
// domains for repeats, to the maps it replaced: the same links and
// domains in the same order. Each line of the input is one link (URL, a
// tab, its text); the lines are added rounds times, from every source,
// so repeats and the switch to the maps past linkScanMax links are met.
func FuzzLinkSet(f *testing.F) {
	var many strings.Builder
	for i := range 40 {
		fmt.Fprintf(&many, "http://h%d.example/p%d\tt%d\nhttp://www.google.com/url?q=https://d%d.example/\t\n", i%23, i, i%3, i%19)
	}
	f.Add(many.String(), uint8(2))
	f.Add("http://a.example/\tA\nhttp://a.example/\tA\nwww.b.example\t\nhttp://a.example/\tB\nmailto:x@y\t\n", uint8(1))
	f.Add(" 'http://a.example/ '\tx\n\"http://a.example/ \"\tx\nhttp://a.example/ \tx\n<http://a.example/>\ty\nhttp://a.example/\ty\n", uint8(0))
	f.Add("http://A.example/x\t  spaced   text \nhttp://a.example./x\tspaced text\nhttps://r.example/?u=http%3A%2F%2Fa.example%2F\t\n", uint8(3))
	f.Fuzz(func(t *testing.T, in string, rounds uint8) {
		var got, byValue linkSet
		var want linkSetBefore
		lines := strings.Split(in, "\n")
		for r := range int(rounds%4) + 1 {
			for i, line := range lines {
				raw, text, _ := strings.Cut(line, "\t")
				source := []string{"href", "src", "text"}[i%3]
				got.add(raw, text, source)
				want.add(raw, text, source)
				if (i+r)%2 == 0 { // addValue, as attributes are added, mixed with add
					byValue.addValue([]byte(raw), text, source)
				} else {
					byValue.add(raw, text, source)
				}
			}
		}
		if !reflect.DeepEqual(byValue.links, got.links) || !reflect.DeepEqual(byValue.domains, got.domains) {
			t.Fatalf("addValue: links %+v, add %+v", byValue.links, got.links)
		}
		if !reflect.DeepEqual(got.links, want.links) && !(len(got.links) == 0 && len(want.links) == 0) {
			t.Fatalf("links %+v, before %+v", got.links, want.links)
		}
		if !reflect.DeepEqual(got.domains, want.domains) {
			t.Fatalf("domains %q, before %q", got.domains, want.domains)
		}
	})
}

// lowerKeepsOffsets tells whether strings.ToLower(s) has every rune at the
// offset it has in s.
func lowerKeepsOffsets(s string) bool {
	for i, r := range s {
		size := utf8.RuneLen(r)
		if r == utf8.RuneError {
			_, size = utf8.DecodeRuneInString(s[i:])
		}
		if utf8.RuneLen(unicode.ToLower(r)) != size {
			return false
		}
	}
	return true
}

// FuzzColorOf holds colorOf, on the tokenizer's bytes, to parseColor on a
// string of them.
func FuzzColorOf(f *testing.F) {
	for _, s := range []string{
		"", "white", " 'WHITE' ", "#FFF", "#ffffff", "fff", "#ff_fff", "+fffff", "#12345", "#1234567",
		"blac\u212a", "\u212a", "whitesmoke", "GhostWhite\t", "\"#abc\"", "0x1234", "#\u00e9\u00e9\u00e9",
		"\u2003red\u00a0", "#fffffffffffffffff", "ivory ",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		if got, want := colorOf(v), parseColor(string(v)); got != want {
			t.Fatalf("colorOf(%q) = %q, parseColor %q", v, got, want)
		}
	})
}
