package filter

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

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
