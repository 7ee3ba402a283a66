package filter

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/netip"
	"time"

	"relayguard/rules/message"
	"relayguard/scoring"
)

// record is the one log line a message gets.
type record struct {
	size    int64
	spooled bool
	verdict *scoring.Verdict
	reply   string
	msg     *message.Message // nil when refused before DATA
}

func (s *session) record(sp *spool, v *scoring.Verdict, msg *message.Message) *record {
	return &record{size: sp.Size(), spooled: sp.onDisk(), verdict: v, msg: msg}
}

// Judged is one judged message as Options.OnJudged sees it.
type Judged struct {
	// Ref is the session's reference, which the client saw; Seq counts
	// the session's judged messages from 1, so Ref and Seq name one.
	Ref   string
	Seq   int
	Time  time.Time
	IP    netip.Addr
	Helo  string
	From  string
	Rcpts []string
	User  string
	Size  int64
	// Verdict is the engine's; RejectLines is the 554 text the client
	// heard, when it was rejected.
	Verdict     *scoring.Verdict
	RejectLines []string
	// Reply is what the client was told, or the upstream's answer.
	Reply string
	// Message is the parsed message (nil when refused at RCPT), readable
	// only during the call; Facts are the transaction's.
	Message *message.Message
	Facts   scoring.Facts
}

// logMessage writes the message's line: who sent what, the verdict and
// what the client was told, under the reference the client saw.
func (s *session) logMessage(r *record) {
	v := r.verdict
	// slog.Attr values, not key/value pairs of any: strings and numbers
	// are not boxed, and the array stays on the stack.
	var buf [20]slog.Attr
	attrs := append(buf[:0],
		slog.String("session", s.id), slog.Any("ip", s.ip), slog.String("helo", s.helo),
		slog.String("from", s.from), slog.Any("rcpts", s.rcpts),
		slog.Int64("size", r.size), slog.Float64("score", v.Score), slog.String("action", string(v.Action)),
		slog.String("symbols", v.LogSymbols()), slog.String("reply", r.reply),
		slog.Duration("duration", time.Since(s.started).Round(time.Millisecond)),
	)
	if s.user != "" {
		attrs = append(attrs, slog.String("user", s.user))
	}
	if v.Class != "" {
		attrs = append(attrs, slog.String("class", v.Class))
	}
	if v.WouldReject {
		attrs = append(attrs, slog.Bool("would_reject", true))
	}
	if len(v.Failed) > 0 {
		attrs = append(attrs, slog.Any("failed_checks", v.Failed))
	}
	if r.spooled {
		attrs = append(attrs, slog.Bool("spooled_to_disk", true))
	}
	// Each symbol's detail ("listed on zen.spamhaus.org (127.0.0.2)"),
	// so the log answers "why?" beyond the names (relayguard log).
	attrs = append(attrs, slog.Any("details", symbolDetails(v.Symbols)))
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "message", attrs...)
	if on := s.srv.opts.OnJudged; on != nil {
		s.judged++
		j := &Judged{Ref: s.ref(), Seq: s.judged, Time: time.Now(), IP: s.ip, Helo: s.helo, From: s.from,
			Rcpts: s.rcpts, User: s.user, Size: r.size, Verdict: v, Reply: r.reply, Message: r.msg}
		if v.Action == scoring.ActionReject {
			j.RejectLines = v.RejectLines(s.ref())
		}
		if s.job != nil {
			j.Facts = s.job.Facts()
		}
		on(j)
	}
}

// symbolDetails logs the symbols with their details: as an array of
// objects in the JSON log (relayguard log reads it), as one readable
// string in the text log ("NAME: detail; ...") instead of Go's struct
// syntax.
type symbolDetails []scoring.Symbol

func (d symbolDetails) MarshalJSON() ([]byte, error) { return json.Marshal([]scoring.Symbol(d)) }

func (d symbolDetails) MarshalText() ([]byte, error) {
	var b []byte
	for i, s := range d {
		if i > 0 {
			b = append(b, "; "...)
		}
		b = append(b, s.Name...)
		if s.Detail != "" {
			b = append(b, ": "...)
			b = append(b, s.Detail...)
		}
	}
	return b, nil
}
