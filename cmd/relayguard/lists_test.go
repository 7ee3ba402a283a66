package main

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"relayguard/config"
	"relayguard/rules/message"
	"relayguard/scoring"
)

// TestListsAndClassesWired: [lists] entries, their [scores] and the
// recipients' classes reach the engine that serve and check build.
func TestListsAndClassesWired(t *testing.T) {
	dir := t.TempDir()
	aliases := filepath.Join(dir, "aliases")
	os.WriteFile(aliases, []byte("fan: fan@gmail.example\n"), 0o644)
	text := "[lists]\nblock_ips = [\"192.0.2.0/24\"]\n[scores]\nBLOCK_IP = 50.0\n" +
		"[access]\nlocal_domains = [\"example.com\"]\n[forwarding]\naliases_file = \"" + aliases + "\"\n" +
		"[store]\ndir = \"" + filepath.Join(dir, "store") + "\"\n"
	c, err := config.Parse([]byte(text), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := buildEngine(c, slog.New(slog.DiscardHandler), false)
	if err != nil {
		t.Fatal(err)
	}
	raw := "From: a@example.org\r\nSubject: x\r\n\r\nhello\r\n"
	msg := message.ParseMessage(strings.NewReader(raw), int64(len(raw)))
	v := e.Score(scoring.Conn{ClientIP: netip.MustParseAddr("192.0.2.9")}, "a@example.org", []string{"fan@example.com"}, msg)
	var block float64
	for _, s := range v.Symbols {
		if s.Name == "BLOCK_IP" {
			block = s.Score
		}
	}
	if block != 50 {
		t.Errorf("BLOCK_IP scored %v, want the [scores] value 50 (symbols %v)", block, v.Symbols)
	}
	if v.Class != "forwarding" || v.Policy.Reject != 8 {
		t.Errorf("class %q reject %v, want forwarding at 8 (the aliases file forwards fan off-site)", v.Class, v.Policy.Reject)
	}
}
