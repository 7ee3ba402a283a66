package rules

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestZZHang(t *testing.T) {
	if os.Getenv("HANG") == "" {
		t.Skip()
	}
	var seeds [][]byte
	files, _ := filepath.Glob("testdata/corpus/*.eml")
	for _, p := range files {
		d, _ := os.ReadFile(p)
		seeds = append(seeds, d)
	}
	cached, _ := filepath.Glob(os.Getenv("HOME") + "/.cache/go-build/fuzz/relayguard/rules/FuzzParseMessage/*")
	t.Log(cached)
	rs, _ := Load(nil, Options{MaxScanBytes: 64 << 10})
	rng := rand.New(rand.NewSource(int64(time.Now().UnixNano())))
	for i := 0; i < 3000; i++ {
		d := append([]byte(nil), seeds[rng.Intn(len(seeds))]...)
		for k := 0; k < 1+rng.Intn(8); k++ {
			switch rng.Intn(4) {
			case 0:
				if len(d) > 0 {
					d[rng.Intn(len(d))] = byte(rng.Intn(256))
				}
			case 1:
				if len(d) > 10 {
					a := rng.Intn(len(d))
					b := a + rng.Intn(len(d)-a)
					d = append(d[:a], d[b:]...)
				}
			case 2:
				a := rng.Intn(len(d) + 1)
				ins := []byte("<>\"'=-!&;#x0123456789abcdef\n\r\t :;/.@%")
				d = append(d[:a], append([]byte{ins[rng.Intn(len(ins))]}, d[a:]...)...)
			case 3:
				if len(d) > 10 {
					a := rng.Intn(len(d))
					b := a + rng.Intn(min(len(d)-a, 100))
					d = append(d[:b], append(append([]byte(nil), d[a:b]...), d[b:]...)...)
				}
			}
		}
		done := make(chan bool)
		go func() {
			m := ParseMessageOptions(bytes.NewReader(d), int64(len(d)), Options{MaxScanBytes: 64 << 10})
			rs.Evaluate(m, time.Time{})
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			os.WriteFile("/tmp/hang.eml", d, 0o644)
			t.Fatalf("hang at iteration %d, written to /tmp/hang.eml", i)
		}
	}
}
