package main

import (
	"context"
	"net"
	"strings"
	"testing"
)

// fakeMTA answers every connection with greeting (nothing when empty),
// then closes.
func fakeMTA(t *testing.T, greeting string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(greeting))
			c.Close()
		}
	}()
	return l.Addr().String()
}

func TestUpstreamProbe(t *testing.T) {
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}()
	tests := []struct {
		name    string
		addr    string
		wantErr string // "" = ready
	}{
		{"greets 220", fakeMTA(t, "220 mx.test ESMTP\r\n"), ""},
		{"greets 220 over lines", fakeMTA(t, "220-mx.test ESMTP\r\n220 welcome\r\n"), ""},
		{"refuses with 554", fakeMTA(t, "554 5.3.2 no service\r\n"), `greets with "554 5.3.2 no service", not 220`},
		{"hangs up", fakeMTA(t, ""), "sent no greeting"},
		{"not listening", closed, "does not accept connections"},
	}
	for _, tt := range tests {
		err := probeSMTP(context.Background(), tt.addr)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v, want ready", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestReadinessCachesTheProbe(t *testing.T) {
	r := &readiness{}
	probes := 0
	r.probe = func(context.Context) error { probes++; return nil }
	if err := r.check(context.Background()); err == nil {
		t.Error("ready before the configuration is loaded")
	}
	r.loaded.Store(true)
	for range 5 {
		if err := r.check(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if probes != 1 {
		t.Errorf("%d probes for 5 asks within %v, want 1", probes, probeEvery)
	}
}
