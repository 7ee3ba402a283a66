package filter

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"relayguard/internal/smtpreply"
)

// upClient is the relay's own SMTP client toward the next hop: only what a
// relay needs, in as few round trips as the next hop allows. go-smtp's
// Client sends one command per round trip, never uses CHUNKING, and its
// Reset forgets the EHLO, so every refused message cost RSET, EHLO and
// MAIL in three round trips. Here, when the next hop offers PIPELINING
// (RFC 2920), the RSET waits for the next MAIL and the MAIL for the first
// RCPT, all three in one write, and the message goes as one BDAT ... LAST
// (RFC 3030) when it offers CHUNKING.
type upClient struct {
	raw     net.Conn // the TCP connection: deadlines are set on it
	conn    net.Conn // raw, or TLS over it
	r       *bufio.Reader
	timeout time.Duration
	caps    capabilities
	cmd     []byte // reused to build commands

	// txOpen is set while the next hop holds a transaction (its MAIL was
	// accepted and no end of data or RSET has ended it). Reset sends
	// nothing: the next MAIL starts with RSET when txOpen is still set.
	txOpen bool
	// mail holds RSET and MAIL back until the first RCPT (PIPELINING);
	// mailErr is the answer to them, repeated to every later RCPT.
	mail    []byte
	mailErr error
	// broken is set by an I/O or protocol error: where the conversation
	// stands is unknown, so nothing more is sent on it, QUIT included.
	broken bool
}

// capabilities are the EHLO keywords the relay uses.
type capabilities struct {
	pipelining, chunking, size, eightBitMIME, smtpUTF8, startTLS, auth bool
}

const (
	// maxReplyLine bounds one reply line (the reader's buffer). RFC 5321
	// §4.5.3.1.5 says 512 octets; some servers write longer texts.
	maxReplyLine = 4096
	// maxReplyLines bounds a multi-line reply; EHLO answers run to ~20.
	maxReplyLines = 100
	// chunkInput is the part of the pooled 32 KiB buffer the message is
	// read into; the rest takes its encoding, which is written as one
	// BDAT chunk or one write of the DATA body.
	chunkInput = 8 << 10
	// bdatRoom is kept in front of each chunk for "BDAT <n> LAST\r\n",
	// dataTail after it for what ends the message (CRLF, then ".\r\n").
	bdatRoom = 32
	dataTail = 8
)

var errBroken = errors.New("connection unusable after an earlier error")

func newUpClient(conn net.Conn, timeout time.Duration) *upClient {
	return &upClient{raw: conn, conn: conn, r: bufio.NewReaderSize(conn, maxReplyLine), timeout: timeout, cmd: make([]byte, 0, 256)}
}

// reply is one answer of the next hop: its code and its text, lines joined
// by "\n" as net/textproto joins them. A one-line text is the reader's own
// buffer, good until the next read: most replies are only looked at for
// their code, and so cost no allocation.
type reply struct {
	code int
	text []byte
}

// readReply reads one reply, single or multi-line (RFC 5321 §4.2.1).
func readReply(r *bufio.Reader) (reply, error) {
	var rep reply
	var text []byte
	for n := 0; ; n++ {
		if n == maxReplyLines {
			return reply{}, fmt.Errorf("reply longer than %d lines", maxReplyLines)
		}
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return reply{}, fmt.Errorf("reply line longer than %d bytes", r.Size())
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return reply{}, fmt.Errorf("reading reply: %w", err)
		}
		line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
		code, more, msg, ok := parseReplyLine(line)
		if !ok {
			return reply{}, fmt.Errorf("malformed reply line %q", clip(string(line), 80))
		}
		if n == 0 {
			rep.code = code
			if !more { // the common case: no copy
				rep.text = msg
				return rep, nil
			}
		} else {
			if code != rep.code {
				return reply{}, fmt.Errorf("reply code changed from %d to %d within one reply", rep.code, code)
			}
			text = append(text, '\n')
		}
		text = append(text, msg...)
		if !more {
			rep.text = text
			return rep, nil
		}
	}
}

// parseReplyLine splits "250-text", "250 text" or "250".
func parseReplyLine(line []byte) (code int, more bool, text []byte, ok bool) {
	if len(line) < 3 || line[0] < '2' || line[0] > '5' || !isDigit(line[1]) || !isDigit(line[2]) {
		return 0, false, nil, false
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if len(line) == 3 {
		return code, false, nil, true
	}
	switch line[3] {
	case ' ':
	case '-':
		more = true
	default:
		return 0, false, nil, false
	}
	return code, more, line[4:], true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// replyError turns a refusal into go-smtp's error type, which the session
// passes to the client as it is. The enhanced code (RFC 3463) is taken
// from the text when its class is the reply's, and dropped from the
// following lines as RFC 2034 §3 has every line repeat it.
func replyError(rep reply) *smtp.SMTPError {
	ec, text := smtpreply.Split(rep.code, string(rep.text))
	return upstreamReply(rep.code, ec, text)
}

// send writes b under a fresh deadline, which also bounds the reads of the
// replies b asks for.
func (c *upClient) send(b []byte) error {
	c.raw.SetDeadline(time.Now().Add(c.timeout))
	if _, err := c.conn.Write(b); err != nil {
		c.broken = true
		return err
	}
	return nil
}

func (c *upClient) read(what string) (reply, error) {
	rep, err := readReply(c.r)
	if err != nil {
		c.broken = true
		return rep, fmt.Errorf("%s: %w", what, err)
	}
	return rep, nil
}

// expect checks rep's code: want exactly, or want's class of two digits
// (25 takes 250 and 251). A refusal (4xx, 5xx) is the next hop's answer;
// any other code is a conversation gone wrong.
func (c *upClient) expect(what string, rep reply, want int) error {
	if rep.code == want || (want < 100 && rep.code/10 == want) {
		return nil
	}
	if rep.code >= 400 {
		return replyError(rep)
	}
	c.broken = true
	return fmt.Errorf("%s: unexpected reply %d %s", what, rep.code, clip(string(rep.text), 80))
}

// command sends one line and checks its reply.
func (c *upClient) command(what string, line []byte, want int) (reply, error) {
	if err := c.send(line); err != nil {
		return reply{}, fmt.Errorf("%s: %w", what, err)
	}
	rep, err := c.read(what)
	if err != nil {
		return rep, err
	}
	return rep, c.expect(what, rep, want)
}

func (c *upClient) line(parts ...string) []byte {
	b := c.cmd[:0]
	for _, p := range parts {
		b = append(b, p...)
	}
	c.cmd = append(b, '\r', '\n')
	return c.cmd
}

func (c *upClient) greet() error {
	c.raw.SetDeadline(time.Now().Add(c.timeout))
	rep, err := c.read("greeting")
	if err != nil {
		return err
	}
	return c.expect("greeting", rep, 220)
}

// hello says EHLO, or HELO to a server that refuses EHLO (RFC 5321
// §4.1.4), and learns the capabilities.
func (c *upClient) hello(name string) error {
	c.caps = capabilities{}
	rep, err := c.command("EHLO", c.line("EHLO ", name), 250)
	if se, ok := isReply(err); ok && se.Code >= 500 {
		_, err = c.command("HELO", c.line("HELO ", name), 250)
		return err
	}
	if err != nil {
		return err
	}
	// The first line is the server's name; each next one a keyword and
	// its parameters.
	_, exts, _ := strings.Cut(string(rep.text), "\n")
	for exts != "" {
		var ext string
		ext, exts, _ = strings.Cut(exts, "\n")
		kw, _, _ := strings.Cut(ext, " ")
		switch strings.ToUpper(kw) {
		case "PIPELINING":
			c.caps.pipelining = true
		case "CHUNKING":
			c.caps.chunking = true
		case "SIZE":
			c.caps.size = true
		case "8BITMIME":
			c.caps.eightBitMIME = true
		case "SMTPUTF8":
			c.caps.smtpUTF8 = true
		case "STARTTLS":
			c.caps.startTLS = true
		case "AUTH":
			c.caps.auth = true
		}
	}
	return nil
}

// startTLS upgrades the connection and says EHLO again: RFC 3207 §4.2
// has the client forget what it learnt before TLS.
func (c *upClient) startTLS(cfg *tls.Config, name string) error {
	if _, err := c.command("STARTTLS", c.line("STARTTLS"), 220); err != nil {
		return err
	}
	if c.r.Buffered() > 0 {
		// Plaintext injected after the 220 would be read as if it came
		// over TLS (CVE-2011-0411).
		c.broken = true
		return errors.New("STARTTLS: data after the 220 reply")
	}
	tc := tls.Client(c.raw, cfg)
	c.raw.SetDeadline(time.Now().Add(c.timeout))
	if err := tc.Handshake(); err != nil {
		c.broken = true
		return fmt.Errorf("TLS handshake: %w", err)
	}
	c.conn = tc
	c.r.Reset(tc)
	return c.hello(name)
}

// authPlain logs in with AUTH PLAIN (RFC 4616) and the initial response.
func (c *upClient) authPlain(user, pass string) error {
	if !c.caps.auth {
		// Often offered only after STARTTLS: say so rather than send
		// credentials to be refused as an unknown command.
		return errors.New("AUTH not offered")
	}
	cred := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	_, err := c.command("AUTH", c.line("AUTH PLAIN ", cred), 235)
	return err
}

// Mail starts a transaction. A transaction still open at the next hop is
// ended first with RSET (RFC 2920 §3.1: RSET and MAIL may both be
// pipelined). With PIPELINING nothing is sent yet: RSET and MAIL wait for
// the first RCPT and leave in its write, which saves the next hop a round
// trip per message; the MAIL's answer then comes from Rcpt.
func (c *upClient) Mail(from string, opts *smtp.MailOptions) (held bool, err error) {
	if c.broken {
		return false, errBroken
	}
	c.mail, c.mailErr = c.mail[:0], nil
	path := formatPath(from)
	if strings.ContainsAny(path, "\r\n") {
		return false, errors.New("MAIL: line break in the sender address")
	}
	utf8 := opts != nil && opts.UTF8
	if utf8 && !c.caps.smtpUTF8 {
		return false, errors.New("MAIL: next hop does not offer SMTPUTF8")
	}
	if c.txOpen && !c.caps.pipelining {
		if _, err := c.command("RSET", c.line("RSET"), 250); err != nil {
			c.broken = true // a refused RSET leaves the transaction's state unknown
			return false, err
		}
		c.txOpen = false
	}
	b := c.mail
	if c.txOpen {
		b = append(b, "RSET\r\n"...)
	}
	b = append(b, "MAIL FROM:<"...)
	b = append(b, path...)
	b = append(b, '>')
	// As go-smtp did: BODY=8BITMIME whenever offered, since a message the
	// client did not declare may still carry 8-bit bytes.
	if c.caps.eightBitMIME {
		b = append(b, " BODY=8BITMIME"...)
	}
	if c.caps.size && opts != nil && opts.Size > 0 {
		b = append(b, " SIZE="...)
		b = strconv.AppendInt(b, opts.Size, 10)
	}
	if utf8 {
		b = append(b, " SMTPUTF8"...)
	}
	c.mail = append(b, '\r', '\n')
	if c.caps.pipelining {
		return true, nil
	}
	return false, c.sendMail(nil)
}

// sendMail sends the held RSET and MAIL, with rcpt behind them when given,
// and reads their answers. A refused MAIL is the error; rcpt's answer is
// left to read.
func (c *upClient) sendMail(rcpt []byte) error {
	out := append(c.mail, rcpt...)
	c.mail = out[:0]
	if err := c.send(out); err != nil {
		return fmt.Errorf("MAIL: %w", err)
	}
	if c.txOpen {
		rep, err := c.read("RSET")
		if err != nil {
			return err
		}
		if rep.code != 250 {
			c.broken = true
			return fmt.Errorf("RSET: %d %s", rep.code, clip(string(rep.text), 80))
		}
		c.txOpen = false
	}
	rep, err := c.read("MAIL")
	if err != nil {
		return err
	}
	if err := c.expect("MAIL", rep, 250); err != nil {
		return err
	}
	c.txOpen = true
	return nil
}

// Rcpt adds a recipient, and sends the MAIL held back for it first.
func (c *upClient) Rcpt(to string) error {
	if c.broken {
		return errBroken
	}
	if c.mailErr != nil {
		return c.mailErr
	}
	path := formatPath(to)
	if strings.ContainsAny(path, "\r\n") {
		return errors.New("RCPT: line break in the recipient address")
	}
	line := c.line("RCPT TO:<", path, ">")
	if len(c.mail) == 0 {
		_, err := c.command("RCPT", line, 25)
		return err
	}
	mailErr := c.sendMail(line)
	if mailErr != nil && c.broken {
		return &heldMailError{mailErr}
	}
	rep, err := c.read("RCPT")
	if mailErr != nil {
		// The next hop refused MAIL and answered the RCPT behind it (503,
		// or anything): the transaction's state is what an RSET makes it,
		// and that RSET rides free in front of the next MAIL.
		c.txOpen = true
		c.mailErr = &heldMailError{mailErr}
		return c.mailErr
	}
	if err != nil {
		return err
	}
	return c.expect("RCPT", rep, 25)
}

// Reset ends the transaction. Nothing is sent now: the next Mail sends
// RSET, pipelined with it where it can be, and Close sends only QUIT. A
// MAIL still held is dropped unsent.
func (c *upClient) Reset() error {
	c.mail, c.mailErr = c.mail[:0], nil
	if c.broken {
		return errBroken
	}
	return nil
}

// copyBuffers hold a message's read buffer and its encoding while it is
// sent (chunkInput bytes, then the rest), reused across messages.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// Data sends header then body as the message, in the same line form
// go-smtp's DATA gave it (bare LF made CRLF, the last line ended). With
// CHUNKING, a message that fits one chunk goes as "BDAT <n> LAST" and its
// bytes in one write, without dot-stuffing. A larger one, or any without
// CHUNKING, goes after DATA and 354, with leading dots doubled and ".\r\n"
// at the end: one round trip for the whole message, where BDAT chunks
// would cost one each (the encoded size is known only once encoded, so a
// single BDAT cannot announce it up front).
func (c *upClient) Data(header []byte, body io.Reader) (string, error) {
	if c.broken {
		return "", errBroken
	}
	if len(c.mail) > 0 || c.mailErr != nil {
		return "", errors.New("DATA: no transaction (no recipient was accepted)")
	}
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	in, out := buf[:chunkInput], buf[chunkInput:]
	bdat := c.caps.chunking
	enc := lineEncoder{dots: !bdat}
	if !bdat {
		if _, err := c.command("DATA", c.line("DATA"), 354); err != nil {
			return "", err
		}
	}
	// chunk collects the encoded message in out, after bdatRoom, leaving
	// dataTail free at the end.
	chunk := out[bdatRoom:bdatRoom:(len(out) - dataTail)]
	src := header
	readDone := false
	for {
		for len(src) > 0 {
			var n int
			chunk, n = enc.encode(chunk, src)
			src = src[n:]
			if len(src) == 0 {
				break
			}
			// The chunk is full: the message goes by DATA.
			if bdat {
				if err := c.switchToDATA(chunk); err != nil {
					return "", err
				}
				bdat, enc.dots = false, true
			} else if err := c.send(chunk); err != nil {
				return "", fmt.Errorf("DATA: %w", err)
			}
			chunk = chunk[:0]
		}
		if readDone {
			break
		}
		n, err := body.Read(in)
		src = in[:n]
		if errors.Is(err, io.EOF) {
			readDone = true
		} else if err != nil {
			c.broken = true // part of the message may be on the wire
			return "", fmt.Errorf("reading the message: %w", err)
		}
	}
	chunk = enc.finish(out[bdatRoom : bdatRoom+len(chunk)]) // into dataTail
	var err error
	if bdat {
		err = c.sendBDATLast(out, chunk)
	} else {
		err = c.send(append(chunk, ".\r\n"...))
	}
	if err != nil {
		return "", fmt.Errorf("end of data: %w", err)
	}
	rep, err := c.read("end of data")
	if err != nil {
		return "", err
	}
	// The next hop ends the transaction at end of data, whatever its
	// answer (RFC 5321 §4.1.1.4, RFC 3030 §2).
	c.txOpen = false
	if err := c.expect("end of data", rep, 250); err != nil {
		return "", err
	}
	return string(rep.text), nil
}

// sendBDATLast writes "BDAT <n> LAST\r\n" into the room before chunk in
// out, so that command and message leave in one write.
func (c *upClient) sendBDATLast(out, chunk []byte) error {
	var hb [bdatRoom]byte
	h := append(hb[:0], "BDAT "...)
	h = strconv.AppendInt(h, int64(len(chunk)), 10)
	h = append(h, " LAST\r\n"...)
	start := bdatRoom - len(h)
	copy(out[start:], h)
	return c.send(out[start : bdatRoom+len(chunk)])
}

var dot = []byte{'.'}

// switchToDATA sends DATA and, after 354, the message's first chunk,
// encoded without dot-stuffing: its lines that begin with a dot get one
// more, in one gathered write (writev on TCP).
func (c *upClient) switchToDATA(first []byte) error {
	if _, err := c.command("DATA", c.line("DATA"), 354); err != nil {
		return err
	}
	var parts net.Buffers
	for line := 0; line < len(first); {
		if first[line] == '.' {
			parts = append(parts, dot)
		}
		end := len(first)
		if i := bytes.IndexByte(first[line:], '\n'); i >= 0 {
			end = line + i + 1
		}
		if n := len(parts); n > 0 && &parts[n-1][0] != &dot[0] {
			// Extend the last part: lines without a dot join it.
			prev := parts[n-1]
			parts[n-1] = prev[:len(prev)+end-line]
		} else {
			parts = append(parts, first[line:end])
		}
		line = end
	}
	c.raw.SetDeadline(time.Now().Add(c.timeout))
	if _, err := parts.WriteTo(c.conn); err != nil {
		c.broken = true
		return fmt.Errorf("DATA: %w", err)
	}
	return nil
}

// quitTimeout bounds the wait for the answer to QUIT: a next hop that
// stopped answering must not hold the client's session for relay.timeout.
const quitTimeout = 5 * time.Second

// Close says QUIT, unless the conversation is broken, and closes.
func (c *upClient) Close() error {
	defer c.conn.Close()
	if c.broken {
		return nil
	}
	c.raw.SetDeadline(time.Now().Add(min(quitTimeout, c.timeout)))
	if _, err := c.conn.Write(c.line("QUIT")); err != nil {
		return fmt.Errorf("QUIT: %w", err)
	}
	rep, err := c.read("QUIT")
	if err != nil {
		return err
	}
	return c.expect("QUIT", rep, 221)
}

// lineEncoder writes a message in SMTP's line form as net/textproto's
// DotWriter does, which go-smtp's DATA used: a bare LF becomes CRLF, the
// last line is ended, and with dots set a dot that begins a line is
// doubled (RFC 5321 §4.5.2). A CR not followed by LF is left as it is.
type lineEncoder struct {
	dots  bool
	state int
}

const (
	encBegin     = iota // nothing written yet
	encBeginLine        // after CRLF
	encCR               // after a CR
	encData             // within a line
)

// encode appends src's encoding to dst within dst's capacity, and returns
// dst and how many bytes of src it took.
func (e *lineEncoder) encode(dst, src []byte) ([]byte, int) {
	i := 0
	for i < len(src) && cap(dst)-len(dst) >= 2 {
		c := src[i]
		if c == '\n' {
			if e.state != encCR {
				dst = append(dst, '\r')
			}
			dst = append(dst, '\n')
			e.state = encBeginLine
			i++
			continue
		}
		if c == '.' && e.dots && (e.state == encBegin || e.state == encBeginLine) {
			dst = append(dst, '.')
		}
		// The rest of the line, or as much as fits, in one copy.
		run := src[i:]
		if j := bytes.IndexByte(run, '\n'); j >= 0 {
			run = run[:j]
		}
		if room := cap(dst) - len(dst); len(run) > room {
			run = run[:room]
		}
		dst = append(dst, run...)
		i += len(run)
		if run[len(run)-1] == '\r' {
			e.state = encCR
		} else {
			e.state = encData
		}
	}
	return dst, i
}

// finish ends the last line, as DotWriter's Close does; an empty message
// becomes one empty line.
func (e *lineEncoder) finish(dst []byte) []byte {
	switch e.state {
	case encBegin, encData:
		dst = append(dst, '\r', '\n')
	case encCR:
		dst = append(dst, '\n')
	}
	e.state = encBeginLine
	return dst
}
