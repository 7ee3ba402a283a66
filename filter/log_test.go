package filter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"relayguard/scoring"
)

// The symbols' details read well in both log formats: objects in JSON
// (what relayguard log reads), one plain string in text (not Go's
// {Name:... Score:...} struct syntax).
func TestSymbolDetailsInBothLogFormats(t *testing.T) {
	d := symbolDetails{{Name: "DNSBL_BL", Score: 4, Detail: "listed on bl.test (127.0.0.2)"}, {Name: "HELO_NOT_FQDN", Score: 1}}
	var text bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("message", "details", d)
	if got := text.String(); !strings.Contains(got, `details="DNSBL_BL: listed on bl.test (127.0.0.2); HELO_NOT_FQDN"`) {
		t.Errorf("text log: %s", got)
	}
	var js bytes.Buffer
	slog.New(slog.NewJSONHandler(&js, nil)).Info("message", "details", d)
	var line struct{ Details []scoring.Symbol }
	if err := json.Unmarshal(js.Bytes(), &line); err != nil || len(line.Details) != 2 || line.Details[0].Detail != "listed on bl.test (127.0.0.2)" {
		t.Errorf("JSON log %s: %+v %v", js.String(), line, err)
	}
}

// TestMessageLogLineFields: the one JSON line a relayed message gets
// carries what relayguard log and operators' scripts read, with JSON types
// (numbers as numbers, recipients as an array, symbols' details as
// objects).
func TestMessageLogLineFields(t *testing.T) {
	var out syncBuffer
	engine, err := scoring.NewEngine(scoring.Options{Policy: scoring.DefaultPolicy(), Timeout: 5 * time.Second, Checks: []scoring.Check{scoring.GTUBE{}}})
	if err != nil {
		t.Fatal(err)
	}
	addr := startEngineServer(t, defaultTestOptions(), engine, nil, slog.New(slog.NewJSONHandler(&out, nil))).addr
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("a@example.org", []string{"user@local.example"}, strings.NewReader("Subject: hi\r\n\r\nhello\r\n")); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, `"msg":"message"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatalf("log line %s: %v", l, err)
			}
		}
	}
	if line == nil {
		t.Fatalf("no message line in the log:\n%s", out.String())
	}
	want := map[string]any{
		"level": "INFO", "ip": "127.0.0.1", "helo": "localhost", "from": "a@example.org",
		"rcpts": []any{"user@local.example"}, "size": float64(len("Subject: hi\r\n\r\nhello\r\n")),
		"action": "accept",
	}
	for k, v := range want {
		if got := fmt.Sprint(line[k]); got != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	for _, k := range []string{"session", "score", "symbols", "reply", "duration", "details"} {
		if _, ok := line[k]; !ok {
			t.Errorf("no %s in %v", k, line)
		}
	}
	if _, ok := line["score"].(float64); !ok {
		t.Errorf("score %v is not a number", line["score"])
	}
	if r, _ := line["reply"].(string); !strings.HasPrefix(r, "250 ") {
		t.Errorf("reply %q, want the upstream's 250", r)
	}
}
