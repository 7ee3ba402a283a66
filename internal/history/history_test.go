package history

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"relayguard/internal/metrics"
	"relayguard/internal/store"
)

var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func rec(i int, from, ip, action string, syms ...string) *Record {
	r := &Record{Ref: fmt.Sprintf("REF%04d", i), Time: t0.Add(time.Duration(i) * time.Minute), From: from,
		Rcpts: []string{"postmaster@ours.example"}, IP: ip, Action: action, Score: float64(i)}
	for _, s := range syms {
		r.Symbols = append(r.Symbols, Symbol{Name: s, Score: 1})
	}
	return r
}

// fill records rs through a History on a memory store and waits for them.
func fill(t *testing.T, o Options, rs ...*Record) *History {
	t.Helper()
	st := store.NewMemory(nil)
	h := New(st, o)
	for _, r := range rs {
		if !h.Record(r) {
			t.Fatal("queue full in a test")
		}
	}
	h.Close() // flushes
	h2 := New(st, o)
	h2.now = func() time.Time { return t0.Add(24 * time.Hour) }
	t.Cleanup(h2.Close)
	return h2
}

func refs(p Page) string {
	var out []string
	for _, r := range p.Records {
		out = append(out, r.Ref)
	}
	return strings.Join(out, " ")
}

func TestSearchSelectsNewestFirst(t *testing.T) {
	h := fill(t, Options{},
		rec(1, "alice@shop.example", "203.0.113.7", "reject", "GTUBE"),
		rec(2, "bob@news.example", "198.51.100.2", "accept"),
		rec(3, "Alice@Shop.example", "203.0.113.9", "add_header", "DNSBL_ZEN", "SPF_FAIL"),
		rec(4, "carol@other.example", "2001:db8::1", "reject", "DNSBL_ZEN"),
	)
	tests := []struct {
		name string
		q    Query
		want string
	}{
		{"everything", Query{}, "REF0004 REF0003 REF0002 REF0001"},
		{"by ref, any case", Query{Ref: "ref0002"}, "REF0002"},
		{"unknown ref", Query{Ref: "NOPE"}, ""},
		{"sender part, any case", Query{Sender: "alice@SHOP"}, "REF0003 REF0001"},
		{"sender domain", Query{Sender: "news.example"}, "REF0002"},
		{"recipient", Query{Rcpt: "postmaster@"}, "REF0004 REF0003 REF0002 REF0001"},
		{"ip exact", Query{IP: "203.0.113.7"}, "REF0001"},
		{"ip prefix", Query{IP: "203.0.113.0/24"}, "REF0003 REF0001"},
		{"ipv6 prefix", Query{IP: "2001:db8::/32"}, "REF0004"},
		{"symbol", Query{Symbol: "dnsbl_zen"}, "REF0004 REF0003"},
		{"action", Query{Action: "reject"}, "REF0004 REF0001"},
		{"since", Query{Since: t0.Add(3 * time.Minute)}, "REF0004 REF0003"},
		{"until is exclusive", Query{Until: t0.Add(3 * time.Minute)}, "REF0002 REF0001"},
		{"combined", Query{Symbol: "DNSBL_ZEN", Action: "reject"}, "REF0004"},
		{"ref must match the rest too", Query{Ref: "REF0002", Action: "reject"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := h.Search(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := refs(p); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSearchPagesWithoutGapsOrRepeats(t *testing.T) {
	var rs []*Record
	for i := range 23 {
		action := "accept"
		if i%2 == 0 {
			action = "reject"
		}
		rs = append(rs, rec(i, "x@y.example", "192.0.2.1", action))
	}
	h := fill(t, Options{}, rs...)
	var seen []string
	q := Query{Action: "reject", Limit: 5}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		p, err := h.Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, refs(p))
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	want := "REF0022 REF0020 REF0018 REF0016 REF0014|REF0012 REF0010 REF0008 REF0006 REF0004|REF0002 REF0000"
	if got := strings.Join(seen, "|"); got != want {
		t.Errorf("pages %q, want %q", got, want)
	}
}

func TestSearchRefusesBadInput(t *testing.T) {
	h := fill(t, Options{})
	for _, q := range []Query{{IP: "not-an-ip"}, {Cursor: "garbage"}, {Cursor: "-5-REF"}} {
		if _, err := h.Search(context.Background(), q); err == nil {
			t.Errorf("%+v: no error", q)
		}
	}
}

func TestRecordsPastTheAgeAreNotShown(t *testing.T) {
	h := fill(t, Options{Age: 10 * time.Hour}, rec(1, "a@b.example", "192.0.2.1", "accept"))
	// fill's clock is a day after the record: it is past the age.
	if p, _ := h.Search(context.Background(), Query{}); len(p.Records) != 0 {
		t.Errorf("record past the age listed: %s", refs(p))
	}
	if _, ok, _ := h.Get(context.Background(), "REF0001"); ok {
		t.Error("record past the age found by ref")
	}
}

func TestTokensRoundTripPacked(t *testing.T) {
	toks := Tokens{"AAAAAAAAAAA", "__________8", "abcdefghijk"}
	r := &Record{Ref: "R", Tokens: toks}
	data, err := encode(r)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back.Tokens) != fmt.Sprint(toks) {
		t.Errorf("tokens %v, want %v", back.Tokens, toks)
	}
	if _, err := encode(&Record{Tokens: Tokens{"plain text"}}); err == nil {
		t.Error("a token that is not a hash was stored")
	}
	s, _ := decodeSummary(data)
	if len(s.Tokens) != 0 || s.Ref != "R" {
		t.Errorf("summary %+v: want the record without tokens", s)
	}
}

// blocking is a store whose writes wait until released: the recorder's
// queue then fills as it would behind a slow store.
type blocking struct {
	*store.Memory
	release chan struct{}
}

func (b *blocking) AddHistory(ctx context.Context, e []store.HistoryEntry, l store.HistoryLimits) error {
	<-b.release
	return b.Memory.AddHistory(ctx, e, l)
}

// TestRecordNeverWaitsForTheStore: behind a stuck store, Record returns at
// once and past the queue drops and counts.
func TestRecordNeverWaitsForTheStore(t *testing.T) {
	st := &blocking{Memory: store.NewMemory(nil), release: make(chan struct{})}
	h := New(st, Options{Queue: 4})
	before := metrics.Value("relayguard_history_records_total", "result", "dropped")
	queued := 0
	for i := range 20 {
		if h.Record(rec(i, "a@b.example", "192.0.2.1", "accept")) {
			queued++
		}
	}
	// One batch may be taken by the stuck writer; the queue holds 4.
	if queued < 4 || queued > 4+maxBatch {
		t.Errorf("queued %d of 20 behind a stuck store", queued)
	}
	dropped := metrics.Value("relayguard_history_records_total", "result", "dropped") - before
	if int(dropped) != 20-queued {
		t.Errorf("dropped counted %v, want %d", dropped, 20-queued)
	}
	close(st.release)
	h.Close()
	p, _ := New(st.Memory, Options{}).Search(context.Background(), Query{Limit: 500})
	if len(p.Records) != queued {
		t.Errorf("stored %d, want the %d queued", len(p.Records), queued)
	}
}

func FuzzParseCursor(f *testing.F) {
	f.Add("1800000000000000000-REF")
	f.Add("")
	f.Add("-")
	f.Add("12-")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			return
		}
		if s != "" && FormatCursor(c) != s && !strings.HasPrefix(s, "+") && !strings.HasPrefix(s, "0") {
			t.Errorf("cursor %q formats back as %q", s, FormatCursor(c))
		}
	})
}

// BenchmarkRecord is the history's cost to the mail path: building the
// record is the caller's; this is queueing it plus the writer's share on
// the embedded file (the default), records of a typical size with a
// thousand tokens.
func BenchmarkRecord(b *testing.B) {
	st, err := store.OpenFile(b.TempDir(), store.FileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h := New(st, Options{Max: 10000, Queue: 1 << 20})
	toks := make(Tokens, 1000)
	for i := range toks {
		toks[i] = fmt.Sprintf("%011d", i)
	}
	r := rec(1, "alice@shop.example", "203.0.113.7", "reject", "GTUBE", "DNSBL_ZEN", "SPF_FAIL")
	r.Tokens = toks
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		c := *r
		c.Ref = fmt.Sprintf("R%08d", i)
		c.Time = t0.Add(time.Duration(i) * time.Millisecond)
		h.Record(&c)
	}
	h.Close() // the writer's work is in the figure
}

// TestASessionsMessagesShareItsReference: a client that sends several
// messages in one session hears one reference; each message is kept, the
// reference finds them all and an ID finds one.
func TestASessionsMessagesShareItsReference(t *testing.T) {
	var rs []*Record
	for i := 1; i <= 3; i++ {
		r := rec(i, "a@b.example", "192.0.2.1", "accept")
		r.Ref, r.ID = "SESSIONREF01", fmt.Sprintf("SESSIONREF01.%d", i)
		rs = append(rs, r)
	}
	h := fill(t, Options{}, append(rs, rec(9, "c@d.example", "192.0.2.2", "reject"))...)
	for _, tc := range []struct{ ref, want string }{
		{"sessionref01", "SESSIONREF01.3 SESSIONREF01.2 SESSIONREF01.1"},
		{"SESSIONREF01.2", "SESSIONREF01.2"},
		{"sessionref01.9", ""},
	} {
		p, err := h.Search(context.Background(), Query{Ref: tc.ref})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range p.Records {
			got = append(got, r.Key())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("ref %s: %q, want %q", tc.ref, got, tc.want)
		}
	}
}
