package control

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRequestsReachTheirHandler(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "control.sock")
	s, err := Listen(path, map[string]Handler{
		"learn": func(_ context.Context, r Request) (string, error) {
			// The body arrives byte for byte (it is base64 in the JSON).
			return r.Args["class"] + ":" + hex.EncodeToString(r.Body), nil
		},
		"fail": func(context.Context, Request) (string, error) { return "", errors.New("store unavailable") },
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v %v, want 0600", st.Mode(), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := Call(ctx, path, Request{Op: "learn", Args: map[string]string{"class": "spam"}, Body: []byte("msg\x00\xff")})
	if err != nil || out != "spam:6d736700ff" {
		t.Errorf("learn: %q %v", out, err)
	}
	if _, err := Call(ctx, path, Request{Op: "fail"}); err == nil || err.Error() != "store unavailable" {
		t.Errorf("fail: %v, want the handler's error", err)
	}
	if _, err := Call(ctx, path, Request{Op: "format-disk"}); err == nil || !strings.Contains(err.Error(), "unknown operation") {
		t.Errorf("unknown op: %v", err)
	}
}

func TestNoServerIsSaidPlainly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	_, err := Call(context.Background(), path, Request{Op: "stats"})
	if !errors.Is(err, ErrNoServer) {
		t.Errorf("err = %v, want ErrNoServer", err)
	}
}

func TestAStaleSocketIsReplacedALiveOneIsNot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	s, err := Listen(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path, nil, nil); err == nil {
		t.Error("a second server took over a live socket")
	}
	s.ln.Close() // dies without removing its socket
	s.wg.Wait()
	if _, err := os.Stat(path); err != nil {
		t.Skip("the platform removed the socket itself")
	}
	s2, err := Listen(path, nil, nil)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	s2.Close()
}
