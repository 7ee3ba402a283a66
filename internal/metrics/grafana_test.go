package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestGrafanaDashboardUsesRegisteredNames holds docs/grafana/relayguard.json
// to the registry: a panel asking for a metric that was renamed or never
// existed would show "No data" on the day it is needed.
func TestGrafanaDashboardUsesRegisteredNames(t *testing.T) {
	data, err := os.ReadFile("../../docs/grafana/relayguard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("relayguard.json: %v", err)
	}
	registered := Registered
	name := regexp.MustCompile(`relayguard_[a-z_]+`)
	n := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				n++
				// Histograms are exposed as _bucket, _sum and _count series.
				base := m
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if b, ok := strings.CutSuffix(m, suffix); ok && registered(b) {
						base = b
					}
				}
				if !registered(base) {
					t.Errorf("panel %q asks for %s, which is not registered", p.Title, m)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no relayguard_ names in the dashboard: the test reads nothing")
	}
}
