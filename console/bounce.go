package console

import (
	"context"
	"net/http"
	"strings"

	"relayguard/internal/bounce"
)

// BounceExplainer explains a pasted bounce and looks the blocklists it
// names up now.
type BounceExplainer func(ctx context.Context, raw []byte) (bounce.Report, []bounce.Lookup)

// maxBounceForm bounds a pasted bounce's form: the explainer reads
// bounce.MaxInput, and the form's encoding may triple what it carries.
const maxBounceForm = 3*bounce.MaxInput + 4096

type bounceData struct {
	Pasted  string
	Report  *bounce.Report
	Lookups []bounce.Lookup
	Max     int
}

func (c *Console) bouncePage(w http.ResponseWriter, r *http.Request, s *session) {
	p := page{Title: "Explain a bounce", User: s.user, CSRF: s.csrf, Nav: "bounce", Data: bounceData{Max: bounce.MaxInput}}
	c.render(w, http.StatusOK, "bounce.html", p)
}

// bouncePost explains the pasted text. It is a POST (with the CSRF token)
// so the bounce, which holds addresses and hosts, never goes in a URL.
func (c *Console) bouncePost(w http.ResponseWriter, r *http.Request, s *session) {
	p := page{Title: "Explain a bounce", User: s.user, CSRF: s.csrf, Nav: "bounce"}
	pasted := r.PostFormValue("bounce")
	d := bounceData{Pasted: pasted, Max: bounce.MaxInput}
	if strings.TrimSpace(pasted) == "" {
		p.Error = "Paste a bounce first: the whole message, or the part with the SMTP reply."
		p.Data = d
		c.render(w, http.StatusBadRequest, "bounce.html", p)
		return
	}
	if c.o.Bounce == nil {
		rep := bounce.Explain([]byte(pasted))
		d.Report = &rep
	} else {
		rep, lookups := c.o.Bounce(r.Context(), []byte(pasted))
		d.Report, d.Lookups = &rep, lookups
	}
	if !d.Report.Found {
		p.Error = "No bounce found in that text: no delivery status and no SMTP reply (a line like \"550 5.7.1 ...\")."
	}
	p.Data = d
	c.render(w, http.StatusOK, "bounce.html", p)
}

// limitBody caps a request's body before the form is parsed.
func limitBody(n int64, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, n)
		h(w, r)
	}
}
