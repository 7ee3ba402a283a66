package message

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// parse makes a Message from a literal, turning \n into CRLF-free mail as
// most test messages are written (go-message reads both).
func parse(raw string) *Message {
	return ParseMessage(strings.NewReader(raw), int64(len(raw)))
}

func TestMIMEDecoding(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		plain     string // substring of PlainText
		html      string // substring of HTMLText
		findings  bool
		notInText string
	}{
		{
			name:  "plain 7bit, no Content-Type",
			raw:   "Subject: hi\n\nHello there\n",
			plain: "Hello there",
		},
		{
			name:  "mbox From line before the header",
			raw:   "From someone@example.org Thu Aug 22 12:36:23 2002\nSubject: hi\n\nbody text\n",
			plain: "body text",
		},
		{
			name:  "base64 utf-8",
			raw:   "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nSGVsbG8gd8O2cmxkCg==\n",
			plain: "Hello wörld",
		},
		{
			name:  "quoted-printable latin-1",
			raw:   "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nCaf=E9 cr=E8me =\nbr=FBl=E9e\n",
			plain: "Café crème brûlée",
		},
		{
			name:  "koi8-r",
			raw:   "Content-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: 8bit\n\n\xf0\xd2\xc9\xd7\xc5\xd4\n",
			plain: "Привет",
		},
		{
			name:  "undeclared 8-bit read as windows-1252",
			raw:   "Subject: x\n\nna\xefve \x93quotes\x94\n",
			plain: "naïve “quotes”",
		},
		{
			name: "nested multipart: mixed > alternative > (plain, html), attachment",
			raw: `Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain

plain version
--inner
Content-Type: text/html

<p>html <b>version</b></p>
--inner--
--outer
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="x.bin"
Content-Transfer-Encoding: base64

AAAA
--outer--
`,
			plain: "plain version",
			html:  "html version",
		},
		{
			name: "forwarded message/rfc822 is read too",
			raw: `Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

see below
--b
Content-Type: message/rfc822

Subject: inner
Content-Type: text/plain

inner words
--b--
`,
			plain: "inner words",
		},
		{
			name:     "missing boundary is a finding, the text still read",
			raw:      "Content-Type: multipart/mixed\n\nsome text\n",
			plain:    "some text",
			findings: true,
		},
		{
			name:     "boundary never found",
			raw:      "Content-Type: multipart/mixed; boundary=zzz\n\nno parts here\n",
			findings: true,
		},
		{
			name:     "unknown charset: finding, bytes kept",
			raw:      "Content-Type: text/plain; charset=x-no-such\n\nstill readable\n",
			plain:    "still readable",
			findings: true,
		},
		{
			name:     "broken base64: finding, no crash",
			raw:      "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n!!!!not base64@@@@\n",
			findings: true,
		},
		{
			name:     "HTML without a Content-Type is rendered",
			raw:      "Subject: x\n\n<html><body><p>Buy <b>now</b></p><script>var x</script></body></html>\n",
			html:     "Buy now",
			findings: true,
		},
		{
			name:      "script, style, comments and head are not visible",
			raw:       "Content-Type: text/html\n\n<html><head><title>T1</title><style>.a{}</style></head><body>vis<!-- comment -->ible<script>hidden()</script></body></html>",
			html:      "visible",
			notInText: "hidden",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parse(tt.raw)
			if !strings.Contains(m.PlainText(), tt.plain) {
				t.Errorf("PlainText = %q, want it to contain %q", m.PlainText(), tt.plain)
			}
			if !strings.Contains(m.HTMLText(), tt.html) {
				t.Errorf("HTMLText = %q, want it to contain %q", m.HTMLText(), tt.html)
			}
			if got := len(m.MIMEFindings()) > 0; got != tt.findings {
				t.Errorf("findings = %q, want some: %v", m.MIMEFindings(), tt.findings)
			}
			if tt.notInText != "" && strings.Contains(m.VisibleText(), tt.notInText) {
				t.Errorf("VisibleText = %q contains %q", m.VisibleText(), tt.notInText)
			}
		})
	}
}

func TestEncodedHeaders(t *testing.T) {
	m := parse("Subject: =?UTF-8?B?VmlhZ3JhIMOgIHByaXg=?= =?ISO-8859-1?Q?tr=E8s_bas?=\nFrom: =?utf-8?q?J=C3=BCrgen?= <j@example.de>\n\nx\n")
	if got := m.HeaderText("Subject"); got != "Viagra à prixtrès bas" {
		t.Errorf("Subject = %q", got)
	}
	a, ok := m.FirstAddress("From")
	if !ok || a.Name != "Jürgen" || a.Addr != "j@example.de" {
		t.Errorf("From = %+v", a)
	}
}

func TestHiddenHTML(t *testing.T) {
	tests := []struct {
		html   string
		hidden string
		shown  string
	}{
		{`<div style="display:none">secret words</div><p>shown</p>`, "secret words", "shown"},
		{`<span style="font-size:1px">tiny text</span>normal`, "tiny text", "normal"},
		{`<font color="#ffffff">white text</font>dark`, "white text", "dark"},
		{`<body bgcolor="#000000"><font color="#000001">black on black</font><font color=white>light</font></body>`, "black on black", "light"},
		{`<td bgcolor="#003366"><font color="white">readable</font></td>`, "", "readable"},
		{`<p style="visibility: hidden">gone</p>here`, "gone", "here"},
		{`<div style="opacity:0">faded</div>seen`, "faded", "seen"},
	}
	for _, tt := range tests {
		m := parse("Content-Type: text/html\n\n" + tt.html)
		if !strings.Contains(m.HiddenText(), tt.hidden) {
			t.Errorf("%s: hidden = %q, want %q", tt.html, m.HiddenText(), tt.hidden)
		}
		if tt.hidden != "" && strings.Contains(m.HTMLText(), tt.hidden) {
			t.Errorf("%s: visible text %q shows the hidden %q", tt.html, m.HTMLText(), tt.hidden)
		}
		if !strings.Contains(m.HTMLText(), tt.shown) {
			t.Errorf("%s: visible = %q, want %q", tt.html, m.HTMLText(), tt.shown)
		}
	}
}

func TestLinks(t *testing.T) {
	m := parse(`Content-Type: multipart/alternative; boundary=b

--b
Content-Type: text/plain

Visit http://Example.COM:8080/a, or www.second.example/path.
--b
Content-Type: text/html

<a href="http://evil.example/login">https://www.bank.example/</a>
<a href="HTTP://user:pw@Host.Example./x">login</a>
<img src="http://3232235777/pixel.gif" width=1 height=1>
<a href="mailto:someone@example.org">mail</a>
<a href="#top">top</a>
<a href="http://xn--bcher-kva.example/">IDN</a>
<a href="http://b&#252;cher.example/">IDN2</a>
--b--
`)
	type l struct{ host, text, source string }
	var got []l
	for _, k := range m.Links() {
		got = append(got, l{k.Host, k.Text, k.Source})
	}
	want := []l{
		{"example.com", "http://Example.COM:8080/a", "text"},
		{"www.second.example", "www.second.example/path", "text"},
		{"evil.example", "https://www.bank.example/", "href"},
		{"host.example", "login", "href"},
		{"192.168.1.1", "", "src"},
		{"xn--bcher-kva.example", "IDN", "href"},
		{"xn--bcher-kva.example", "IDN2", "href"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("links:\n got %v\nwant %v", got, want)
	}
	if !m.Links()[3].UserInfo {
		t.Errorf("userinfo not noticed on %q", m.Links()[3].URL)
	}
	if n := len(m.Images()); n != 1 {
		t.Errorf("images = %d, want 1", n)
	}
}

func TestNormaliseHost(t *testing.T) {
	tests := map[string]string{
		"Example.COM.":     "example.com",
		"example.com:443":  "example.com",
		"3232235777":       "192.168.1.1",
		"0xC0.0xA8.0.1":    "192.168.0.1",
		"0300.0250.0.01":   "192.168.0.1",
		"192.168.1":        "192.168.0.1",
		"[::1]":            "::1",
		"[::ffff:1.2.3.4]": "1.2.3.4",
		"bücher.example":   "xn--bcher-kva.example",
		"bad host":         "",
		"a..b":             "",
		"":                 "",
	}
	for in, want := range tests {
		if got := NormaliseHost(in); got != want {
			t.Errorf("NormaliseHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScanBudget(t *testing.T) {
	body := strings.Repeat("word ", 100000) // 500 KB
	raw := "Subject: big\n\n" + body + "\nTAILMARKER\n"
	m := ParseMessageOptions(strings.NewReader(raw), int64(len(raw)), Options{MaxScanBytes: 1000})
	if n := len(m.PlainText()); n > 1000 {
		t.Errorf("read %d bytes of text with a budget of 1000", n)
	}
	if strings.Contains(m.VisibleText(), "TAILMARKER") {
		t.Error("text past the budget was scanned")
	}
	if !m.content().truncated {
		t.Error("truncation not recorded")
	}
}

func TestManyPartsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b\n\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, "--b\nContent-Type: text/plain\n\npart %d\n", i)
	}
	b.WriteString("--b--\n")
	m := parse(b.String())
	if n := len(m.Parts()); n > maxMIMEParts {
		t.Errorf("%d parts kept, limit %d", n, maxMIMEParts)
	}
	if len(m.MIMEFindings()) == 0 {
		t.Error("part limit not reported")
	}
}

func TestDeepNestingBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b0\n\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&b, "--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n", i, i+1)
	}
	m := parse(b.String())
	_ = m.VisibleText()
	if len(m.MIMEFindings()) == 0 {
		t.Error("nesting limit not reported")
	}
}

// FuzzClipText holds ClipText, which stops reading once it has n bytes, to
// its definition: the fields of s joined by single spaces, cut to n bytes
// on a rune boundary; and clipText over bytes (an anchor's text) to it.
func FuzzClipText(f *testing.F) {
	for _, s := range []string{"", " a ", "already clipped", "two  spaces", "tab\there", "é\u00a0ü\u2003x", "\xff\xfe \x80", "日本語のテキスト"} {
		f.Add(s, 5)
		f.Add(s, 40)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1000 {
			return
		}
		want := strings.Join(strings.Fields(s), " ")
		if len(want) > n {
			k := n
			for k > 0 && !isRuneStart(want[k]) {
				k--
			}
			want = want[:k]
		}
		if got := ClipText(s, n); got != want {
			t.Fatalf("ClipText(%q, %d) = %q, want %q", s, n, got, want)
		}
		if got := clipText([]byte(s), n); got != want {
			t.Fatalf("clipText([]byte(%q), %d) = %q, want %q", s, n, got, want)
		}
	})
}

// FuzzIsIPHost holds IsIPHost's early rejection of names to netip: a host
// is an IP exactly when netip.ParseAddr accepts it.
func FuzzIsIPHost(f *testing.F) {
	for _, s := range []string{"", "1.2.3.4", "example.com", "::1", "fe80::1%eth0", "1.2.3", "01.2.3.4", "1.2.3.4%x", "[::1]", "%1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		_, err := netip.ParseAddr(h)
		if got := IsIPHost(h); got != (err == nil) {
			t.Fatalf("IsIPHost(%q) = %v, netip.ParseAddr error %v", h, got, err)
		}
	})
}
