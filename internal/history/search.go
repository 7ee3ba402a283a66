package history

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"relayguard/internal/store"
)

// Query selects records; empty fields select everything. Text fields
// match case-insensitively: Ref exactly (a session's reference finds its
// every message; a record's ID, ref.N, that one), Sender and Rcpt as a part of the
// address ("example.com" finds every sender there), IP as an address or
// a prefix ("203.0.113.0/24"), Symbol by name, Action by the verdict's
// action. Since and Until bound the time (Until exclusive).
type Query struct {
	Ref, Sender, Rcpt, IP, Symbol, Action string
	Since, Until                          time.Time
	// Cursor is the Next of the page before (empty: the newest).
	Cursor string
	// Limit is the page size (default 50, at most 500).
	Limit int
}

// Page is one page of matches, newest first; Next continues after it
// ("" when there is nothing more).
type Page struct {
	Records []*Record
	Next    string
}

// ErrBadQuery is wrapped by Search's errors that are the query's fault.
var ErrBadQuery = errors.New("bad query")

// Search returns a page of the records q selects, newest first. It reads
// the history from the newest (or the cursor) down, so a rare match costs
// a walk through the history: fine for an operator's search over a
// bounded history, and nothing is indexed on the mail's path.
func (h *History) Search(ctx context.Context, q Query) (Page, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	m, err := compile(q)
	if err != nil {
		return Page{}, err
	}
	if id := strings.ToUpper(strings.TrimSpace(q.Ref)); strings.Contains(id, ".") {
		// One message's ID: no walk.
		r, ok, err := h.Get(ctx, id)
		if err != nil || !ok || !m(r) {
			return Page{}, err
		}
		r.Tokens = nil
		return Page{Records: []*Record{r}}, nil
	}
	after, err := ParseCursor(q.Cursor)
	if err != nil {
		return Page{}, err
	}
	if after.Time.IsZero() && !q.Until.IsZero() {
		after = store.HistoryCursor{Time: q.Until}
	}
	var page Page
	var scanErr error
	err = h.st.ScanHistory(ctx, after, func(e store.HistoryEntry) bool {
		if !q.Since.IsZero() && e.Time.Before(q.Since) || h.expired(e.Time) {
			return false // newest first: everything after is older still
		}
		r, err := decodeSummary(e.Data)
		if err != nil {
			scanErr = fmt.Errorf("%s: %w", e.Ref, err)
			return false
		}
		if !m(r) {
			return true
		}
		if len(page.Records) == limit {
			// One more match exists: the page ends at the last one shown.
			last := page.Records[limit-1]
			page.Next = FormatCursor(store.HistoryCursor{Time: last.Time, Ref: last.Key()})
			return false
		}
		page.Records = append(page.Records, r)
		return true
	})
	if err == nil {
		err = scanErr
	}
	return page, err
}

// compile turns a query's text fields into one predicate.
func compile(q Query) (func(*Record) bool, error) {
	var tests []func(*Record) bool
	if s := strings.TrimSpace(q.Ref); s != "" {
		// A session's reference: every message of the session (the
		// client saw the same one for each).
		tests = append(tests, func(r *Record) bool { return strings.EqualFold(r.Ref, s) || strings.EqualFold(r.Key(), s) })
	}
	if s := strings.ToLower(strings.TrimSpace(q.Sender)); s != "" {
		tests = append(tests, func(r *Record) bool { return strings.Contains(strings.ToLower(r.From), s) })
	}
	if s := strings.ToLower(strings.TrimSpace(q.Rcpt)); s != "" {
		tests = append(tests, func(r *Record) bool {
			for _, rc := range r.Rcpts {
				if strings.Contains(strings.ToLower(rc), s) {
					return true
				}
			}
			return false
		})
	}
	if s := strings.TrimSpace(q.IP); s != "" {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("%w: IP %q is neither an address nor a prefix", ErrBadQuery, s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		p = p.Masked()
		tests = append(tests, func(r *Record) bool {
			a, err := netip.ParseAddr(r.IP)
			return err == nil && p.Contains(a.Unmap())
		})
	}
	if s := strings.TrimSpace(q.Symbol); s != "" {
		tests = append(tests, func(r *Record) bool {
			for _, sym := range r.Symbols {
				if strings.EqualFold(sym.Name, s) {
					return true
				}
			}
			return false
		})
	}
	if s := strings.ToLower(strings.TrimSpace(q.Action)); s != "" {
		tests = append(tests, func(r *Record) bool { return r.Action == s })
	}
	return func(r *Record) bool {
		if !q.Until.IsZero() && !r.Time.Before(q.Until) {
			return false
		}
		for _, t := range tests {
			if !t(r) {
				return false
			}
		}
		return true
	}, nil
}

// FormatCursor and ParseCursor are a page's Next: the last record's time
// (Unix nanoseconds) and ref. Nothing in it is the message's.
func FormatCursor(c store.HistoryCursor) string {
	return strconv.FormatInt(c.Time.UnixNano(), 10) + "-" + c.Ref
}

// ParseCursor reads a cursor; "" is the zero cursor (the newest).
func ParseCursor(s string) (store.HistoryCursor, error) {
	if s == "" {
		return store.HistoryCursor{}, nil
	}
	ns, ref, ok := strings.Cut(s, "-")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || n <= 0 || ref == "" || len(ref) > 64 {
		return store.HistoryCursor{}, fmt.Errorf("%w: cursor %q", ErrBadQuery, s)
	}
	return store.HistoryCursor{Time: time.Unix(0, n), Ref: ref}, nil
}
