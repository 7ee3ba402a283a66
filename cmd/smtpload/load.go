package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"relayguard/internal/cputime"
	"relayguard/internal/smtpreply"
)

// Config is one load run.
type Config struct {
	Addr        string        // SMTP server, host:port
	Messages    int           // messages to send in all
	Size        int           // body bytes per message
	Concurrency int           // simultaneous connections
	PerConn     int           // messages per connection before QUIT; 0 = all of a worker's
	From        string        // envelope and header sender
	To          string        // recipient address, or a domain for rotating recipients
	Helo        string        // EHLO name
	Timeout     time.Duration // connect, and each command and reply
	GTUBE       float64       // fraction of messages carrying the GTUBE string, 0..1
	// Replay, when set, are whole messages sent as they are, round-robin,
	// instead of generated ones (Size and GTUBE then do not apply).
	Replay [][]byte
	// RejectsExpected counts 5xx replies as a filter doing its job (a
	// replayed corpus holds spam), not as failures.
	RejectsExpected bool
	// Pipeline sends MAIL, RCPT and DATA in one write and reads their
	// three replies after it (RFC 2920), as Postfix and Exim do when the
	// server offers PIPELINING; otherwise each command waits for its reply,
	// as go-smtp's client does.
	Pipeline bool
}

// rotatingRecipients is how many mailboxes a -to domain spreads over.
const rotatingRecipients = 1000

func (c Config) validate() error {
	switch {
	case c.Addr == "":
		return errors.New("no server address")
	case c.Messages < 1:
		return fmt.Errorf("message count %d: must be at least 1", c.Messages)
	case c.Concurrency < 1:
		return fmt.Errorf("concurrency %d: must be at least 1", c.Concurrency)
	case c.Size < 0 || c.Size == 1:
		return fmt.Errorf("body size %d: must be 0 or at least 2 bytes", c.Size)
	case c.GTUBE > 0 && len(c.Replay) > 0:
		return errors.New("-gtube applies to generated messages, not to replayed ones")
	case c.GTUBE > 0 && c.Size < len(gtube)+2:
		return fmt.Errorf("body size %d: a GTUBE body needs at least %d bytes", c.Size, len(gtube)+2)
	case c.PerConn < 0:
		return fmt.Errorf("messages per connection %d: must be 0 (no limit) or more", c.PerConn)
	case c.GTUBE < 0 || c.GTUBE > 1:
		return fmt.Errorf("GTUBE fraction %g: must be between 0 and 1", c.GTUBE)
	case c.Timeout <= 0:
		return fmt.Errorf("timeout %v: must be positive", c.Timeout)
	case !strings.Contains(c.From, "@"):
		return fmt.Errorf("sender %q: not an address", c.From)
	case c.To == "" || strings.HasPrefix(c.To, "@") || strings.HasSuffix(c.To, "@"):
		return fmt.Errorf("recipient %q: want an address or a domain", c.To)
	case c.Helo == "":
		return errors.New("empty EHLO name")
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("server address %q: %w", c.Addr, err)
	}
	return nil
}

// recipient is the RCPT address of message i.
func (c Config) recipient(i int) string {
	if strings.Contains(c.To, "@") {
		return c.To
	}
	return fmt.Sprintf("user%03d@%s", i%rotatingRecipients, c.To)
}

// isGTUBE says whether message i carries the GTUBE string. The GTUBE
// messages are spread evenly and their count is round(N*fraction) or so.
func (c Config) isGTUBE(i int) bool {
	return int(float64(i+1)*c.GTUBE) > int(float64(i)*c.GTUBE)
}

// outcome is what happened to one message.
type outcome struct {
	// code is the SMTP reply code that ended the message: 250 when
	// accepted; 0 when no reply came (network error, timeout).
	code    int
	reply   string        // the server's text, or the error, when not accepted
	latency time.Duration // MAIL to the final reply; 0 without a reply
	bytes   int64         // DATA bytes written, when the transfer finished
	gtube   bool
}

// run sends cfg.Messages messages over cfg.Concurrency connections and
// reports what happened. Its error is for a bad configuration or a
// cancelled ctx; failed messages are counted in the report.
func run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.validate(); err != nil {
		return Report{}, fmt.Errorf("smtpload: %w", err)
	}
	plain, err := makeBody(cfg.Size, false, 1)
	if err != nil {
		return Report{}, fmt.Errorf("smtpload: %w", err)
	}
	var spam []byte
	if cfg.GTUBE > 0 {
		if spam, err = makeBody(cfg.Size, true, 2); err != nil {
			return Report{}, fmt.Errorf("smtpload: %w", err)
		}
	}
	var idBytes [6]byte
	rand.Read(idBytes[:])
	runID := hex.EncodeToString(idBytes[:])

	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		mu      sync.Mutex
		results = make([][]outcome, cfg.Concurrency)
		conns   = make([]int, cfg.Concurrency)
	)
	start, cpu0 := time.Now(), cputime.Process()
	for w := range cfg.Concurrency {
		wg.Go(func() {
			wk := worker{cfg: cfg, plain: plain, spam: spam, runID: runID}
			out := wk.loop(ctx, &next)
			mu.Lock()
			results[w], conns[w] = out, wk.conns
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cputime.Process()-cpu0

	rep := newReport(cfg, elapsed, cpu, results, conns)
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("smtpload: stopped after %d of %d messages: %w", rep.Attempted, cfg.Messages, err)
	}
	return rep, nil
}

// worker is one connection's sender: it takes the next message number
// until all are taken, reconnecting after PerConn messages or an error.
type worker struct {
	cfg         Config
	plain, spam []byte
	runID       string

	client *smtp.Client
	conn   net.Conn        // client's connection
	pipe   *textproto.Conn // with -pipeline: the conversation after EHLO
	stop   func() bool     // ends the ctx watch on client
	onConn int             // messages sent on client
	conns  int             // connections opened
	buf    []byte
}

func (w *worker) loop(ctx context.Context, next *atomic.Int64) []outcome {
	var out []outcome
	defer w.quit()
	for ctx.Err() == nil {
		i := int(next.Add(1) - 1)
		if i >= w.cfg.Messages {
			break
		}
		o := w.send(ctx, i)
		if ctx.Err() != nil && o.code == 0 {
			// Cut short by cancellation: not the server's failure.
			break
		}
		out = append(out, o)
	}
	return out
}

// send delivers message i, connecting first when needed.
func (w *worker) send(ctx context.Context, i int) outcome {
	gt := w.cfg.GTUBE > 0 && w.cfg.isGTUBE(i)
	if w.client == nil {
		if err := w.connect(ctx); err != nil {
			return failure(err, gt)
		}
	}
	body := w.plain
	if gt {
		body = w.spam
	}
	if r := w.cfg.Replay; len(r) > 0 {
		w.buf, body = w.buf[:0], r[i%len(r)]
	} else {
		w.buf = appendHeader(w.buf[:0], headerFields{
			From: w.cfg.From, To: w.cfg.recipient(i),
			Seq: i, N: w.cfg.Messages,
			RunID: w.runID, Hostname: w.cfg.Helo,
			Date: time.Now(), WithGTUBE: gt,
		})
	}

	start := time.Now()
	stage, err := w.transaction(w.cfg.recipient(i), w.buf, body)
	o := failure(err, gt)
	if err == nil {
		o.code = 250
	}
	if o.code != 0 {
		o.latency = time.Since(start)
	}
	if stage == stageReply {
		o.bytes = int64(len(w.buf) + len(body))
	}
	w.onConn++

	switch {
	case o.code == 0 || o.code == 421:
		// The connection is broken or the server is closing it.
		w.drop()
	case err != nil && stage < stageReply:
		// Refused before the message was complete: end the transaction.
		if err := w.client.Reset(); err != nil {
			w.drop()
		}
	}
	if w.client != nil && w.cfg.PerConn > 0 && w.onConn >= w.cfg.PerConn {
		w.quit()
	}
	return o
}

// stage is how far a transaction got.
type stage int

const (
	stageMail  stage = iota // MAIL, RCPT and DATA commands
	stageData               // writing the message
	stageReply              // the message was written; waiting for the final reply
)

func (w *worker) transaction(rcpt string, header, body []byte) (stage, error) {
	if w.cfg.Pipeline {
		return w.pipelined(rcpt, header, body)
	}
	c := w.client
	if err := c.Mail(w.cfg.From, &smtp.MailOptions{Size: int64(len(header) + len(body))}); err != nil {
		return stageMail, fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return stageMail, fmt.Errorf("RCPT TO: %w", err)
	}
	wc, err := c.Data()
	if err != nil {
		return stageMail, fmt.Errorf("DATA: %w", err)
	}
	// go-smtp bounds commands and replies but not the transfer itself;
	// Close replaces this deadline with its own for the final reply.
	w.conn.SetWriteDeadline(time.Now().Add(w.cfg.Timeout))
	defer w.conn.SetWriteDeadline(time.Time{})
	if _, err := wc.Write(header); err != nil {
		return stageData, fmt.Errorf("writing message: %w", err)
	}
	if _, err := wc.Write(body); err != nil {
		return stageData, fmt.Errorf("writing message: %w", err)
	}
	if err := wc.Close(); err != nil {
		return stageReply, fmt.Errorf("end of DATA: %w", err)
	}
	return stageReply, nil
}

// connect dials the server and says EHLO.
func (w *worker) connect(ctx context.Context) error {
	d := net.Dialer{Timeout: w.cfg.Timeout}
	conn, err := d.DialContext(ctx, "tcp", w.cfg.Addr)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	w.conns++
	c := smtp.NewClient(conn)
	c.CommandTimeout = w.cfg.Timeout
	c.SubmissionTimeout = w.cfg.Timeout
	// Closing the connection unblocks any read or write on cancellation.
	w.stop = context.AfterFunc(ctx, func() { conn.Close() })
	w.client, w.conn, w.onConn, w.pipe = c, conn, 0, nil
	if err := c.Hello(w.cfg.Helo); err != nil {
		w.drop()
		return fmt.Errorf("greeting or EHLO: %w", err)
	}
	if w.cfg.Pipeline {
		if ok, _ := c.Extension("PIPELINING"); !ok {
			w.drop()
			return errors.New("-pipeline: the server does not offer PIPELINING")
		}
		// go-smtp's client has read nothing past the EHLO reply, so the
		// rest of the conversation can be read from the connection here;
		// Reset and Quit go through go-smtp again, after all replies to
		// what was sent here have been read.
		w.pipe = textproto.NewConn(conn)
	}
	return nil
}

// pipelined sends MAIL, RCPT and DATA in one write, reads the three
// replies, then sends the message in one write and reads the final reply.
func (w *worker) pipelined(rcpt string, header, body []byte) (stage, error) {
	t := w.pipe
	w.conn.SetDeadline(time.Now().Add(w.cfg.Timeout))
	defer w.conn.SetDeadline(time.Time{})
	fmt.Fprintf(t.W, "MAIL FROM:<%s> SIZE=%d\r\nRCPT TO:<%s>\r\nDATA\r\n", w.cfg.From, len(header)+len(body), rcpt)
	if err := t.W.Flush(); err != nil {
		return stageMail, fmt.Errorf("MAIL FROM: %w", err)
	}
	var first error
	for _, step := range []struct {
		name string
		want int
	}{{"MAIL FROM", 2}, {"RCPT TO", 2}, {"DATA", 3}} {
		code, msg, err := t.ReadResponse(step.want)
		if err != nil && first == nil {
			first = fmt.Errorf("%s: %w", step.name, replyError(code, msg, err))
		}
		if err != nil && code == 0 { // the connection broke
			return stageMail, first
		}
	}
	if first != nil {
		// After a refused MAIL or RCPT the server refused DATA too (RFC
		// 2920 §3.1 requires it), so no message is owed.
		return stageMail, first
	}
	dw := t.DotWriter()
	if _, err := dw.Write(header); err != nil {
		return stageData, fmt.Errorf("writing message: %w", err)
	}
	if _, err := dw.Write(body); err != nil {
		return stageData, fmt.Errorf("writing message: %w", err)
	}
	if err := dw.Close(); err != nil { // writes ".", flushes
		return stageData, fmt.Errorf("writing message: %w", err)
	}
	if code, msg, err := t.ReadResponse(2); err != nil {
		return stageReply, fmt.Errorf("end of DATA: %w", replyError(code, msg, err))
	}
	return stageReply, nil
}

// replyError makes a refusal read by textproto the *smtp.SMTPError
// go-smtp's client would have returned, so failures count alike.
func replyError(code int, msg string, err error) error {
	if code < 400 {
		return err
	}
	ec, text := smtpreply.Split(code, msg)
	return &smtp.SMTPError{Code: code, EnhancedCode: ec, Message: text}
}

// quit ends the session politely.
func (w *worker) quit() {
	if w.client == nil {
		return
	}
	w.client.Quit()
	w.drop()
}

// drop closes the connection without QUIT.
func (w *worker) drop() {
	if w.client == nil {
		return
	}
	w.stop()
	w.client.Close()
	w.client, w.conn = nil, nil
}

// failure turns a message's error into its outcome.
func failure(err error, gt bool) outcome {
	o := outcome{gtube: gt}
	if err == nil {
		return o
	}
	o.reply = err.Error()
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		o.code = se.Code
		reply := strconv.Itoa(se.Code)
		if ec := se.EnhancedCode; ec != smtp.EnhancedCodeNotSet && ec != smtp.NoEnhancedCode {
			reply += fmt.Sprintf(" %d.%d.%d", ec[0], ec[1], ec[2])
		}
		reply += " " + se.Message
		o.reply = strings.Replace(o.reply, se.Error(), reply, 1)
	}
	o.reply = strings.ReplaceAll(o.reply, "\n", " | ")
	return o
}
