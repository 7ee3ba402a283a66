package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"sync"
	"time"
)

// Sessions live in this process's memory: a restart logs everyone out,
// which for an operator's console is a feature, and nothing secret is
// written to the state store.
const (
	cookieName    = "relayguard_console"
	sessionLife   = 8 * time.Hour
	loginFailures = 5           // failed logins per client IP per loginWindow
	loginWindow   = time.Minute // before further attempts are refused
)

type session struct {
	user    string
	csrf    string
	expires time.Time
}

type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:]) // crypto/rand never fails on Linux (Go 1.24+ panics instead of returning an error)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *sessions) start(user string, now time.Time) (id string, sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m { // few operators: a sweep per login is enough
		if now.After(v.expires) {
			delete(s.m, k)
		}
	}
	id = randomToken()
	sess = &session{user: user, csrf: randomToken(), expires: now.Add(sessionLife)}
	s.m[id] = sess
	return id, sess
}

func (s *sessions) get(id string, now time.Time) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[id]
	if !ok || now.After(sess.expires) {
		delete(s.m, id)
		return nil
	}
	return sess
}

func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// csrfOK compares the form's token with the session's in constant time.
func csrfOK(sess *session, r *http.Request) bool {
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) == 1
}

// throttle counts failed logins per client IP in fixed windows: past
// loginFailures in a window, logins from that IP are refused (429) until
// it ends, so a password cannot be guessed at bcrypt's speed.
type throttle struct {
	mu sync.Mutex
	m  map[string]*window
}

type window struct {
	start time.Time
	n     int
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (t *throttle) blocked(ip string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	w, ok := t.m[ip]
	return ok && now.Sub(w.start) < loginWindow && w.n >= loginFailures
}

func (t *throttle) failed(ip string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, w := range t.m {
		if now.Sub(w.start) >= loginWindow {
			delete(t.m, k)
		}
	}
	w, ok := t.m[ip]
	if !ok {
		w = &window{start: now}
		t.m[ip] = w
	}
	w.n++
}
