// Package history is the verdict history the console searches: one
// Record per judged message, kept in the state store (internal/store's
// History: the embedded file, or Redis shared by every instance), bounded
// by count and age. Relayguard keeps no message bodies: a record holds
// the envelope, the verdict and the message's hashed classifier tokens,
// so it can be trained later, and the Subject only when the operator
// asks for it (console.store_subjects).
package history

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// Record is one judged message.
type Record struct {
	// ID names the record: the session's reference and the message's
	// number in the session ("K3QF7NA2XW5B.1"). Ref is the reference the
	// client saw; a session's messages share it.
	ID    string    `json:"id"`
	Ref   string    `json:"ref"`
	Time  time.Time `json:"time"`
	IP    string    `json:"ip"`
	Helo  string    `json:"helo,omitempty"`
	From  string    `json:"from"`
	Rcpts []string  `json:"rcpts"`
	User  string    `json:"user,omitempty"` // SMTP AUTH user
	// Subject is set only with console.store_subjects on.
	Subject string  `json:"subject,omitempty"`
	Size    int64   `json:"size"`
	Score   float64 `json:"score"`
	Action  string  `json:"action"` // the verdict's: reject, tempfail, add_header, accept
	Class   string  `json:"class,omitempty"`
	// Reject and AddHeader are the thresholds the verdict was decided
	// under (its class's), for "what would have changed".
	Reject      float64  `json:"reject"`
	AddHeader   float64  `json:"add_header"`
	WouldReject bool     `json:"would_reject,omitempty"`
	Failed      []string `json:"failed,omitempty"`
	Symbols     []Symbol `json:"symbols"`
	// Auth are the Authentication-Results entries ("spf=pass smtp.mailfrom=...").
	Auth []string `json:"auth,omitempty"`
	// RejectText is the 554 reply's lines, when rejected.
	RejectText []string `json:"reject_text,omitempty"`
	// Reply is what the client was told, or the upstream's answer.
	Reply string `json:"reply"`
	// LearnID is the classifier's id of the message (its learned mark) and
	// Tokens its hashed tokens; both empty when the classifier is off or
	// the message was refused before DATA.
	LearnID string `json:"learn_id,omitempty"`
	Tokens  Tokens `json:"-"`
}

// Symbol is one finding of the verdict.
type Symbol struct {
	Name   string  `json:"name"`
	Score  float64 `json:"score"`
	Detail string  `json:"detail,omitempty"`
}

// Tokens are hashed classifier tokens (classifier.Hash: 8 bytes, base64
// URL-encoded). They are stored packed, outside the record's JSON: a
// thousand tokens are 8 KB of bytes after the JSON's line, so recording
// does not escape a thousand strings and a search does not read them.
type Tokens []string

// encode and decode are a record's stored form: its JSON (no tokens), a
// newline (JSON without indentation has none of its own), and the tokens'
// 8 bytes each.
func encode(r *Record) ([]byte, error) {
	c := *r
	c.Tokens = nil
	b, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("history: encoding %s: %w", r.Ref, err)
	}
	b = append(b, '\n')
	var raw [8]byte
	for _, s := range r.Tokens {
		if n, err := base64.RawURLEncoding.Decode(raw[:], []byte(s)); err != nil || n != 8 || len(s) != 11 {
			return nil, fmt.Errorf("history: encoding %s: token %q is not a hashed token", r.Ref, s)
		}
		b = append(b, raw[:]...)
	}
	return b, nil
}

func decode(data []byte) (*Record, error) {
	r, raw, err := split(data)
	if err != nil {
		return nil, err
	}
	if len(raw)%8 != 0 {
		return nil, fmt.Errorf("history: %s: %d bytes of tokens is not a whole number", r.Ref, len(raw))
	}
	r.Tokens = make(Tokens, 0, len(raw)/8)
	for i := 0; i < len(raw); i += 8 {
		r.Tokens = append(r.Tokens, base64.RawURLEncoding.EncodeToString(raw[i:i+8]))
	}
	return r, nil
}

// decodeSummary is decode without the tokens: what a search reads.
func decodeSummary(data []byte) (*Record, error) {
	r, _, err := split(data)
	return r, err
}

func split(data []byte) (*Record, []byte, error) {
	js, raw, _ := bytes.Cut(data, []byte{'\n'})
	var r Record
	if err := json.Unmarshal(js, &r); err != nil {
		return nil, nil, fmt.Errorf("history: decoding a record: %w", err)
	}
	return &r, raw, nil
}
