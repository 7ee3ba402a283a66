// Package console is the operator's web console: search the verdict
// history, see one message's "why", train the classifier from it, and a
// live view of the mail flowing through. It is served by relayguard itself
// from embedded templates and one stylesheet: no build step, no CDN, no
// script. Every page needs a login (the bcrypt users file); every form that
// changes anything is a POST carrying the session's CSRF token; no page
// puts message content in a URL.
package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"relayguard/internal/history"
	"relayguard/scoring/classifier"
	"relayguard/scoring/dnsbl"
)

//go:embed assets
var assets embed.FS

// Verifier checks a user's password (filter.Users: the bcrypt users file).
type Verifier interface {
	Verify(user, password string) error
}

// Trainer learns a message from its stored tokens (classifier.Classifier).
type Trainer interface {
	LearnTokens(ctx context.Context, id string, tokens []string, spam bool) (classifier.LearnOutcome, error)
	LearnedAs(ctx context.Context, id string) (string, error)
}

// Options are what the console reads.
type Options struct {
	Users   Verifier
	History *history.History
	// Trainer is nil when the classifier is off: no training buttons.
	Trainer Trainer
	// Describe returns a symbol's description ("" when none is known).
	Describe func(symbol string) string
	// Lists and Egress report the blocklists' health and our egress IPs'
	// listings for the live view; either may be nil.
	Lists  func() []dnsbl.ListStatus
	Egress func() []dnsbl.EgressResult
	// Bounce explains a pasted bounce with live lookups; nil explains it
	// without them.
	Bounce BounceExplainer
	Log    *slog.Logger
	Now    func() time.Time
}

// Console is the console's HTTP handler.
type Console struct {
	o     Options
	mux   *http.ServeMux
	tmpl  *template.Template
	sess  sessions
	login throttle
}

// New makes the console.
func New(o Options) (*Console, error) {
	if o.Users == nil || o.History == nil {
		return nil, errors.New("console: needs users and a history")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Describe == nil {
		o.Describe = func(string) string { return "" }
	}
	t, err := template.New("").Funcs(funcs).ParseFS(assets, "assets/*.html")
	if err != nil {
		return nil, err
	}
	c := &Console{o: o, tmpl: t, sess: sessions{m: map[string]*session{}}, login: throttle{m: map[string]*window{}}}
	m := http.NewServeMux()
	m.HandleFunc("GET /login", c.loginPage)
	m.HandleFunc("POST /login", c.loginPost)
	m.HandleFunc("POST /logout", c.authed(c.logout))
	m.HandleFunc("GET /style.css", c.style)
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/history", http.StatusSeeOther) })
	m.HandleFunc("GET /history", c.authed(c.historyPage))
	m.HandleFunc("GET /message/{ref}", c.authed(c.messagePage))
	m.HandleFunc("POST /message/{ref}/train", c.authed(c.train))
	m.HandleFunc("GET /live", c.authed(c.livePage))
	m.HandleFunc("GET /bounce", c.authed(c.bouncePage))
	m.HandleFunc("POST /bounce", limitBody(maxBounceForm, c.authed(c.bouncePost)))
	c.mux = m
	return c, nil
}

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No script, no frames, nothing from elsewhere. Referer only to
	// ourselves, so a search's query string never leaves for another
	// site ("no-referrer" would also make browsers send "Origin: null" on
	// our own forms, which sameOrigin must refuse).
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodPost && !sameOrigin(r) {
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return
	}
	c.mux.ServeHTTP(w, r)
}

// sameOrigin refuses a POST whose Origin names another site (browsers
// send it on every cross-site POST); the CSRF token is the main defence,
// this one covers the login form, which has no session yet.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

type authedHandler func(w http.ResponseWriter, r *http.Request, s *session)

// authed lets a request with a live session through: a page without one
// redirects to the login form, a POST is refused (401); a POST must also
// carry the session's CSRF token (403 without it).
func (c *Console) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var s *session
		if ck, err := r.Cookie(cookieName); err == nil {
			s = c.sess.get(ck.Value, c.o.Now())
		}
		if s == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			http.Error(w, "log in first", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && !csrfOK(s, r) {
			http.Error(w, "the form's security token is missing or stale: reload the page and try again", http.StatusForbidden)
			return
		}
		h(w, r, s)
	}
}

func (c *Console) style(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=3600")
	b, _ := assets.ReadFile("assets/style.css")
	w.Write(b)
}

// page is what every template gets.
type page struct {
	Title string
	User  string
	CSRF  string
	Nav   string
	Error string
	Data  any
}

func (c *Console) render(w http.ResponseWriter, status int, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	if err := c.tmpl.ExecuteTemplate(&b, name, p); err != nil {
		c.o.Log.Error("console: rendering", "page", name, "err", err)
		http.Error(w, "the page could not be shown; the log says why", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusOK, "login.html", page{Title: "Log in"})
}

func (c *Console) loginPost(w http.ResponseWriter, r *http.Request) {
	ip, now := clientIP(r), c.o.Now()
	if c.login.blocked(ip, now) {
		c.render(w, http.StatusTooManyRequests, "login.html", page{Title: "Log in",
			Error: "Too many failed logins from your address: wait a minute."})
		return
	}
	user, pass := r.PostFormValue("user"), r.PostFormValue("password")
	if err := c.o.Users.Verify(user, pass); err != nil {
		c.login.failed(ip, now)
		c.o.Log.Warn("console: login failed", "user", user, "ip", ip)
		c.render(w, http.StatusUnauthorized, "login.html", page{Title: "Log in", Error: "Wrong user or password."})
		return
	}
	id, _ := c.sess.start(user, now)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(sessionLife.Seconds())})
	c.o.Log.Info("console: login", "user", user, "ip", ip)
	http.Redirect(w, r, "/history", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if ck, err := r.Cookie(cookieName); err == nil {
		c.sess.end(ck.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
