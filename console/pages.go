package console

import (
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"relayguard/internal/history"
	"relayguard/scoring/dnsbl"
)

var funcs = template.FuncMap{
	"when":  func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") },
	"score": func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"join":  strings.Join,
}

// searchForm is the history page's query as the form shows it.
type searchForm struct {
	Ref, Sender, Rcpt, IP, Symbol, Action, Since, Until string
}

// timeLayout is what the form's datetime-local fields send.
const timeLayout = "2006-01-02T15:04"

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(timeLayout, s, time.Local)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: time %q: want YYYY-MM-DDTHH:MM", history.ErrBadQuery, s)
	}
	return t, nil
}

type historyData struct {
	Form    searchForm
	Records []*history.Record
	Next    string // the next page's URL, "" when none
	Actions []string
}

func (c *Console) historyPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := r.URL.Query()
	f := searchForm{Ref: v.Get("ref"), Sender: v.Get("sender"), Rcpt: v.Get("rcpt"), IP: v.Get("ip"),
		Symbol: v.Get("symbol"), Action: v.Get("action"), Since: v.Get("since"), Until: v.Get("until")}
	p := page{Title: "History", User: s.user, CSRF: s.csrf, Nav: "history"}
	q := history.Query{Ref: f.Ref, Sender: f.Sender, Rcpt: f.Rcpt, IP: f.IP, Symbol: f.Symbol, Action: f.Action,
		Cursor: v.Get("cursor")}
	var err error
	if q.Since, err = parseTime(f.Since); err == nil {
		q.Until, err = parseTime(f.Until)
	}
	var res history.Page
	if err == nil {
		res, err = c.o.History.Search(r.Context(), q)
	}
	status := http.StatusOK
	switch {
	case errors.Is(err, history.ErrBadQuery):
		p.Error, status = strings.TrimPrefix(err.Error(), "bad query: "), http.StatusBadRequest
	case err != nil:
		c.o.Log.Error("console: history search", "err", err)
		p.Error, status = "The history could not be read (the state store failed); the log says why.", http.StatusServiceUnavailable
	}
	d := historyData{Form: f, Records: res.Records, Actions: []string{"reject", "tempfail", "add_header", "accept"}}
	if res.Next != "" {
		v.Set("cursor", res.Next)
		d.Next = "/history?" + v.Encode()
	}
	p.Data = d
	c.render(w, status, "history.html", p)
}

type symbolRow struct {
	history.Symbol
	Description string
}

type messageData struct {
	R        *history.Record
	Symbols  []symbolRow
	Changes  []string // what would have changed the verdict
	Learned  string   // the class it was learned as ("" never)
	CanTrain bool
	Trained  string // the outcome of a training just done
}

func (c *Console) messagePage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showMessage(w, r, s, "", http.StatusOK)
}

func (c *Console) showMessage(w http.ResponseWriter, r *http.Request, s *session, trained string, status int) {
	ref := r.PathValue("ref")
	p := page{Title: "Message " + ref, User: s.user, CSRF: s.csrf, Nav: "history"}
	rec, ok, err := c.o.History.Get(r.Context(), ref)
	switch {
	case err != nil:
		c.o.Log.Error("console: history entry", "ref", ref, "err", err)
		p.Error = "The history could not be read (the state store failed); the log says why."
		c.render(w, http.StatusServiceUnavailable, "message.html", p)
		return
	case !ok:
		p.Error = "No message " + ref + " in the history (it may be older than console.history_age, or past console.history_max)."
		c.render(w, http.StatusNotFound, "message.html", p)
		return
	}
	d := messageData{R: rec, Changes: wouldChange(rec), Trained: trained}
	for _, sym := range rec.Symbols {
		d.Symbols = append(d.Symbols, symbolRow{Symbol: sym, Description: c.o.Describe(sym.Name)})
	}
	if c.o.Trainer != nil && rec.LearnID != "" {
		d.CanTrain = true
		if d.Learned, err = c.o.Trainer.LearnedAs(r.Context(), rec.LearnID); err != nil {
			c.o.Log.Warn("console: reading the learned mark", "ref", ref, "err", err)
		}
	}
	p.Data = d
	c.render(w, status, "message.html", p)
}

// wouldChange says in words how far the score was from each threshold of
// its class, and which single findings would have moved it across.
func wouldChange(r *history.Record) []string {
	var out []string
	dist := func(name string, th float64) {
		switch d := r.Score - th; {
		case d >= 0:
			out = append(out, fmt.Sprintf("%.1f above %s (%.1f)", d, name, th))
		default:
			out = append(out, fmt.Sprintf("%.1f below %s (%.1f)", -d, name, th))
		}
	}
	if r.Reject == 0 && r.AddHeader == 0 {
		return nil // refused before scoring thresholds applied
	}
	dist("reject", r.Reject)
	dist("add_header", r.AddHeader)
	// Single findings whose absence alone would cross back under reject.
	if r.Score >= r.Reject {
		for _, s := range r.Symbols {
			if s.Score > 0 && r.Score-s.Score < r.Reject {
				out = append(out, fmt.Sprintf("without %s (%s) it would have scored %.1f: not rejected", s.Name, scoreStr(s.Score), r.Score-s.Score))
			}
		}
		if r.Score-100 < r.Reject {
			out = append(out, fmt.Sprintf("an allow entry ([lists] allow_ips, allow_senders: -100) would have scored it %.1f: not rejected", r.Score-100))
		}
	}
	return out
}

func scoreStr(f float64) string { return fmt.Sprintf("%.1f", f) }

func (c *Console) train(w http.ResponseWriter, r *http.Request, s *session) {
	ref := r.PathValue("ref")
	class := r.PostFormValue("class")
	if class != "spam" && class != "ham" {
		http.Error(w, "class must be spam or ham", http.StatusBadRequest)
		return
	}
	if c.o.Trainer == nil {
		http.Error(w, "the classifier is off (classifier.enabled)", http.StatusConflict)
		return
	}
	rec, ok, err := c.o.History.Get(r.Context(), ref)
	if err != nil || !ok || rec.LearnID == "" || len(rec.Tokens) == 0 {
		http.Error(w, "this message cannot be trained: it is not in the history, or was refused before its content was read", http.StatusNotFound)
		return
	}
	out, err := c.o.Trainer.LearnTokens(r.Context(), rec.LearnID, rec.Tokens, class == "spam")
	if err != nil {
		c.o.Log.Error("console: training", "ref", ref, "err", err)
		c.showMessage(w, r, s, "Not learned: the state store failed; the log says why.", http.StatusServiceUnavailable)
		return
	}
	c.o.Log.Info("console: trained", "ref", ref, "class", class, "outcome", out.String(), "user", s.user)
	// Post/redirect/get would lose the outcome; the page is shown at once
	// and the browser's reload asks before posting again.
	c.showMessage(w, r, s, fmt.Sprintf("Learned as %s: %s.", class, out), http.StatusOK)
}

type count struct {
	Name string
	N    int
}

type minuteRow struct {
	Minute string
	By     map[string]int
}

type liveData struct {
	Minutes  []minuteRow
	Actions  []string
	Symbols  []count
	Refused  []count
	Lists    []dnsbl.ListStatus
	Egress   []dnsbl.EgressResult
	Total    int
	Window   string
	Partial  bool
	HasLists bool
}

// livePage reads the last hour of history: messages per minute by action,
// the most frequent symbols and the senders refused most.
func (c *Console) livePage(w http.ResponseWriter, r *http.Request, s *session) {
	const window = time.Hour
	const maxRead = 50_000 // a busy hour is summarised from its newest messages
	now := c.o.Now()
	p := page{Title: "Live", User: s.user, CSRF: s.csrf, Nav: "live"}
	d := liveData{Actions: []string{"reject", "tempfail", "add_header", "accept"}, Window: "the last hour"}
	perMin := map[string]map[string]int{}
	syms, refused := map[string]int{}, map[string]int{}
	next := ""
	for d.Total < maxRead {
		res, err := c.o.History.Search(r.Context(), history.Query{Since: now.Add(-window), Limit: 500, Cursor: next})
		if err != nil {
			c.o.Log.Error("console: live view", "err", err)
			p.Error = "The history could not be read (the state store failed); the log says why."
			break
		}
		for _, rec := range res.Records {
			d.Total++
			m := rec.Time.Local().Format("15:04")
			if perMin[m] == nil {
				perMin[m] = map[string]int{}
			}
			perMin[m][rec.Action]++
			for _, s := range rec.Symbols {
				if s.Score > 0 {
					syms[s.Name]++
				}
			}
			if rec.Action == "reject" {
				refused[cmp.Or(rec.From, "<>")]++
			}
		}
		if next = res.Next; next == "" {
			break
		}
	}
	d.Partial = d.Total >= maxRead
	for i := 0; i < 15; i++ {
		m := now.Add(-time.Duration(i) * time.Minute).Local().Format("15:04")
		d.Minutes = append(d.Minutes, minuteRow{Minute: m, By: perMin[m]})
	}
	d.Symbols, d.Refused = top(syms, 10), top(refused, 10)
	if c.o.Lists != nil {
		d.Lists = c.o.Lists()
	}
	if c.o.Egress != nil {
		d.Egress = c.o.Egress()
	}
	p.Data = d
	c.render(w, http.StatusOK, "live.html", p)
}

func top(m map[string]int, n int) []count {
	out := make([]count, 0, len(m))
	for k, v := range m {
		out = append(out, count{k, v})
	}
	slices.SortFunc(out, func(a, b count) int { return cmp.Or(b.N-a.N, strings.Compare(a.Name, b.Name)) })
	return out[:min(n, len(out))]
}
