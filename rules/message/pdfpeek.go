package message

import (
	"bytes"
	"compress/zlib"
	"io"
	"strings"
	"sync"
)

// Bounds on the look inside a PDF: no parser, one pass over the bytes the
// attachment budget kept, and at most maxPDFInflate bytes of Flate streams
// inflated (each at most maxPDFStream), so a deflate bomb costs no more.
const (
	maxPDFStreams = 256
	maxPDFStream  = 256 << 10
	maxPDFInflate = 2 << 20
	maxPDFString  = 4096
)

// PDFInfo is what a scan of a PDF's objects found. The names are those of
// ISO 32000-1: link annotations (§12.5.6.5) with URI actions (§12.6.4.7),
// document JavaScript (§12.6.4.16), launch actions (§12.6.4.5) and
// embedded files (§7.11.4).
type PDFInfo struct {
	// Links counts /Link annotations; the URIs of their actions are the
	// attachment's Links.
	Links      int
	URIs       int // /URI actions
	JavaScript bool
	OpenAction bool
	Launch     bool
	// EmbeddedFile is set when files are embedded; e-invoices (Factur-X,
	// ZUGFeRD) embed their XML this way.
	EmbeddedFile bool
	// Encrypted PDFs keep their strings (and URIs) encrypted.
	Encrypted bool
	// TextOps counts text-showing operators (Tj, TJ, ', ") in the content
	// streams read; TextChars the bytes of the strings they show.
	TextOps, TextChars int
	// Images counts image XObjects.
	Images int
}

// PeekPDF scans a PDF (perhaps only its first part) for link annotations,
// their URIs, active content, and how much text its pages show. Streams
// compressed with FlateDecode (content streams and the object streams that
// may hold the annotations) are inflated within the bounds above.
func PeekPDF(data []byte) (*PDFInfo, []Link) {
	p := &PDFInfo{}
	var ls linkSet
	p.scanNames(data, &ls)
	inflated := 0
	objStart := 0
	var f *inflater // taken from inflaters at the first Flate stream
	for pos, n := 0, 0; n < maxPDFStreams; n++ {
		i := bytes.Index(data[pos:], []byte("stream"))
		if i < 0 {
			break
		}
		kw := pos + i
		pos = kw + len("stream")
		if kw >= 3 && string(data[kw-3:kw]) == "end" {
			continue
		}
		// The stream's dictionary is between the last "obj" and "stream".
		if o := bytes.LastIndex(data[objStart:kw], []byte(" obj")); o >= 0 {
			objStart += o
		}
		dict := data[objStart:kw]
		start := pos
		if start < len(data) && data[start] == '\r' {
			start++
		}
		if start < len(data) && data[start] == '\n' {
			start++
		}
		end := bytes.Index(data[start:], []byte("endstream"))
		if end < 0 {
			end = len(data) - start
		}
		body := data[start : start+end]
		pos = start + end
		objStart = pos
		if bytes.Contains(dict, []byte("/Image")) {
			p.Images++
			continue
		}
		switch {
		case bytes.Contains(dict, []byte("/FlateDecode")) || bytes.Contains(dict, []byte("/Fl ")) || bytes.Contains(dict, []byte("/Fl/")):
			if inflated >= maxPDFInflate || bytes.Contains(dict, []byte("/DCTDecode")) {
				continue
			}
			if f == nil {
				f = inflaters.Get().(*inflater)
				defer inflaters.Put(f)
			}
			out := f.inflate(body, min(maxPDFStream, maxPDFInflate-inflated))
			inflated += len(out)
			p.scanNames(out, &ls)
			p.countText(out)
		case !bytes.Contains(dict, []byte("/Filter")):
			p.countText(body)
		}
	}
	return p, clipLinks(ls.links)
}

// inflater inflates a PDF's streams one after another with one zlib
// reader and one output buffer, kept in inflaters from PDF to PDF: a new
// flate reader allocates its 32 KB window and tables every time.
type inflater struct {
	src bytes.Reader
	zr  io.ReadCloser // nil until the first stream with a good zlib header
	out []byte
}

var inflaters = sync.Pool{New: func() any { return new(inflater) }}

// inflate returns at most limit bytes of a zlib stream's output, valid
// until the next call.
func (f *inflater) inflate(b []byte, limit int) []byte {
	f.src.Reset(b)
	if f.zr == nil {
		zr, err := zlib.NewReader(&f.src)
		if err != nil {
			return nil
		}
		f.zr = zr
	} else if err := f.zr.(zlib.Resetter).Reset(&f.src, nil); err != nil {
		return nil
	}
	// Read errors end the output early, as they ended io.ReadAll: what was
	// inflated before the error is what is looked at.
	f.out, _ = readAtMost(f.zr, f.out, int64(limit))
	return f.out
}

// scanNames looks at every name object (/Name, with #xx escapes decoded,
// ISO 32000-1 §7.3.5) and collects the strings of /URI entries.
func (p *PDFInfo) scanNames(b []byte, ls *linkSet) {
	for i := 0; i < len(b); i++ {
		if b[i] != '/' {
			continue
		}
		j := i + 1
		for j < len(b) && j-i < 64 && isPDFRegular(b[j]) {
			j++
		}
		name := pdfName(b[i+1 : j])
		switch name {
		case "URI":
			if s, ok := pdfString(b[j:]); ok {
				p.URIs++
				ls.add(s, "", "pdf")
			}
		case "Link":
			p.Links++
		case "JavaScript", "JS":
			p.JavaScript = true
		case "OpenAction", "AA":
			p.OpenAction = true
		case "Launch":
			p.Launch = true
		case "EmbeddedFile", "EmbeddedFiles":
			p.EmbeddedFile = true
		case "Encrypt":
			p.Encrypted = true
		}
		i = j - 1
	}
}

// pdfName decodes the #xx escapes of a name.
func pdfName(b []byte) string {
	if bytes.IndexByte(b, '#') < 0 {
		return string(b)
	}
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] == '#' && i+2 < len(b) {
			if v, ok := unhex2(b[i+1], b[i+2]); ok {
				out = append(out, v)
				i += 2
				continue
			}
		}
		out = append(out, b[i])
	}
	return string(out)
}

func unhex2(a, b byte) (byte, bool) {
	x, ok1 := unhex(a)
	y, ok2 := unhex(b)
	return x<<4 | y, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// isPDFRegular tells a regular character, one that continues a name or a
// keyword (ISO 32000-1 §7.2.2: not white space, not a delimiter).
func isPDFRegular(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ', '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return false
	}
	return true
}

// pdfString reads the literal (...) or hex <...> string that starts b
// after optional white space; false when there is none.
func pdfString(b []byte) (string, bool) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	if i >= len(b) {
		return "", false
	}
	switch {
	case b[i] == '(':
		s, _ := literalString(b[i:])
		return s, true
	case b[i] == '<' && (i+1 >= len(b) || b[i+1] != '<'):
		s, _ := hexString(b[i:])
		return s, true
	}
	return "", false
}

// literalString reads a (...) string with its escapes and balanced
// parentheses (ISO 32000-1 §7.3.4.2), at most maxPDFString bytes; n is
// the bytes consumed.
func literalString(b []byte) (s string, n int) {
	var out strings.Builder
	depth := 0
	i := 0
	for ; i < len(b) && out.Len() < maxPDFString; i++ {
		c := b[i]
		switch {
		case c == '\\' && i+1 < len(b):
			i++
			switch e := b[i]; e {
			case 'n':
				out.WriteByte('\n')
			case 'r', 't', 'b', 'f':
				out.WriteByte(' ')
			case '\r', '\n':
				// a line continuation
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7'; k++ {
						i++
						v = v*8 + int(b[i]-'0')
					}
					out.WriteByte(byte(v))
				} else {
					out.WriteByte(e)
				}
			}
		case c == '(':
			if depth > 0 {
				out.WriteByte(c)
			}
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return out.String(), i + 1
			}
			out.WriteByte(c)
		default:
			out.WriteByte(c)
		}
	}
	return out.String(), i
}

// hexString reads a <...> string.
func hexString(b []byte) (s string, n int) {
	var out []byte
	var hi byte
	half := false
	i := 1
	for ; i < len(b) && len(out) < maxPDFString; i++ {
		if b[i] == '>' {
			i++
			break
		}
		v, ok := unhex(b[i])
		if !ok {
			continue
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	return string(out), i
}

// countText counts the text-showing operators of a content stream and
// the string bytes they show (ISO 32000-1 §9.4.3): operands are strings
// (in arrays for TJ) and numbers; any other operator drops them.
func (p *PDFInfo) countText(b []byte) {
	pending := 0
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '(':
			s, n := literalString(b[i:])
			pending += len(s)
			i += max(n, 1)
		case c == '<' && i+1 < len(b) && b[i+1] != '<':
			s, n := hexString(b[i:])
			pending += len(s)
			i += max(n, 1)
		case c == '%': // a comment to the end of the line
			for i < len(b) && b[i] != '\n' && b[i] != '\r' {
				i++
			}
		case isPDFRegular(c):
			j := i
			for j < len(b) && isPDFRegular(b[j]) {
				j++
			}
			switch tok := string(b[i:j]); {
			case tok == "Tj" || tok == "TJ" || tok == "'" || tok == `"`:
				p.TextOps++
				p.TextChars += pending
				pending = 0
			case isPDFNumber(tok):
			default:
				pending = 0
			}
			i = j
		default:
			i++
		}
	}
}

func isPDFNumber(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+') {
			return false
		}
	}
	return true
}
