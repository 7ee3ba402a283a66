package scoring

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"relayguard/rules/message"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func msgOf(s string) *message.Message {
	return message.ParseMessage(strings.NewReader(s), int64(len(s)))
}

func fixed(name string, phase Phase, syms ...Symbol) Check {
	return CheckFunc{name, phase, func(context.Context, *Input) Result { return Result{Symbols: syms} }}
}

func newTestEngine(t *testing.T, timeout time.Duration, checks ...Check) *Engine {
	t.Helper()
	e, err := NewEngine(Options{Policy: DefaultPolicy(), Timeout: timeout, Checks: checks})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestChecksSeeWhatTheirPhaseKnows(t *testing.T) {
	var connIn, mailIn, dataIn atomic.Pointer[Input]
	record := func(name string, p Phase, dst *atomic.Pointer[Input]) Check {
		return CheckFunc{name, p, func(_ context.Context, in *Input) Result { c := *in; dst.Store(&c); return Result{} }}
	}
	e := newTestEngine(t, time.Second,
		record("c", PhaseConnect, &connIn), record("m", PhaseMail, &mailIn), record("d", PhaseData, &dataIn))
	ip := netip.MustParseAddr("192.0.2.7")
	j := e.Begin(Conn{SessionID: "S1", ClientIP: ip, Helo: "mx.example"})
	defer j.Close()
	j.Mail("a@example.org")
	j.Rcpt("b@example.net")
	msg := msgOf("Subject: hi\r\n\r\nbody\r\n")
	j.Finish(msg)

	c, m, d := connIn.Load(), mailIn.Load(), dataIn.Load()
	if c == nil || m == nil || d == nil {
		t.Fatal("a check did not run")
	}
	if c.ClientIP != ip || c.Helo != "mx.example" || c.From != "" || c.Message != nil {
		t.Errorf("connect input = %+v", c)
	}
	if m.From != "a@example.org" || m.Message != nil || len(m.Rcpts) != 0 {
		t.Errorf("mail input = %+v", m)
	}
	if d.From != "a@example.org" || d.Message != msg || len(d.Rcpts) != 1 || d.Rcpts[0] != "b@example.net" {
		t.Errorf("data input = %+v", d)
	}
}

func TestVerdictTotalsAndSortsSymbols(t *testing.T) {
	e := newTestEngine(t, time.Second,
		fixed("a", PhaseConnect, Symbol{Name: "LOW", Score: 0.5}),
		fixed("b", PhaseData, Symbol{Name: "HIGH", Score: 5.1}, Symbol{Name: "NEG", Score: -1}),
		fixed("c", PhaseMail, Symbol{Name: "MID", Score: 1.4}))
	v := e.Score(Conn{}, "", nil, msgOf("\r\n"))
	if v.Score != 6 {
		t.Errorf("score = %v, want 6", v.Score)
	}
	if got := strings.Join(symbolNames(v.Symbols), ","); got != "HIGH,MID,LOW,NEG" {
		t.Errorf("order = %s", got)
	}
	if v.Action != ActionAddHeader {
		t.Errorf("action = %s, want add_header at exactly the threshold", v.Action)
	}
}

func TestSlowCheckIsCutAtTheDeadline(t *testing.T) {
	slow := CheckFunc{"slow", PhaseConnect, func(ctx context.Context, _ *Input) Result {
		<-ctx.Done()
		return Result{Symbols: []Symbol{{Name: "PARTIAL", Score: 1}}}
	}}
	e := newTestEngine(t, 50*time.Millisecond, slow, fixed("fast", PhaseData, Symbol{Name: "FAST", Score: 2}))
	done := make(chan Verdict)
	go func() { done <- e.Score(Conn{}, "", nil, msgOf("\r\n")) }()
	select {
	case v := <-done:
		if len(v.Failed) != 1 || v.Failed[0] != "slow" {
			t.Errorf("failed = %v, want [slow]", v.Failed)
		}
		if v.Score != 3 {
			t.Errorf("score = %v: symbols found before the deadline must still count", v.Score)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Finish did not return: the deadline does not bound it")
	}
}

// TestCheckIgnoringItsContextDoesNotHoldTheVerdict: a check that never
// looks at its context (a bug, or a library call without one) is given up
// on joinGrace after its deadline, counted as failed, and the others'
// symbols still count.
func TestCheckIgnoringItsContextDoesNotHoldTheVerdict(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	stuck := CheckFunc{"stuck", PhaseData, func(context.Context, *Input) Result {
		<-release
		return Result{Symbols: []Symbol{{Name: "LATE", Score: 100}}}
	}}
	e := newTestEngine(t, 50*time.Millisecond, stuck, fixed("fast", PhaseData, Symbol{Name: "FAST", Score: 2}))
	done := make(chan Verdict)
	go func() { done <- e.Score(Conn{}, "", nil, msgOf("\r\n")) }()
	select {
	case v := <-done:
		if len(v.Failed) != 1 || v.Failed[0] != "stuck" {
			t.Errorf("failed = %v, want [stuck]", v.Failed)
		}
		if v.Score != 2 {
			t.Errorf("score = %v, want 2 (FAST alone)", v.Score)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Finish waited for a check that ignores its context")
	}
}

func TestPanickingCheckFailsAloneWithoutCrashing(t *testing.T) {
	bad := CheckFunc{"bad", PhaseData, func(context.Context, *Input) Result { panic("boom") }}
	e := newTestEngine(t, time.Second, bad, fixed("good", PhaseData, Symbol{Name: "GOOD", Score: 1}))
	v := e.Score(Conn{}, "", nil, msgOf("\r\n"))
	if len(v.Failed) != 1 || v.Failed[0] != "bad" || v.Score != 1 {
		t.Errorf("verdict = %+v", v)
	}
}

// Keys of the tests' findings.
var (
	spfKey     = NewKey[string]("spf")
	dkimKey    = NewKey[string]("dkim")
	dmarcKey   = NewKey[string]("dmarc")
	contentKey = NewKey[int]("content")
	nosuchKey  = NewKey[string]("nosuch")
)

func publishing[T any](k Key[T], phase Phase, v T) Check {
	return CheckFunc{k.Check(), phase, func(context.Context, *Input) Result {
		time.Sleep(10 * time.Millisecond)
		var r Result
		Publish(&r, k, v)
		return r
	}}
}

func TestDataCheckReadsPriorResult(t *testing.T) {
	dmarc := CheckFunc{"dmarc", PhaseData, func(ctx context.Context, in *Input) Result {
		if v, ok := Await(ctx, in, spfKey); !ok || v != "pass" {
			return Result{Err: errors.New("no spf result")}
		}
		if _, ok := Await(ctx, in, nosuchKey); ok {
			return Result{Err: errors.New("found a check that does not exist")}
		}
		return Result{Symbols: []Symbol{{Name: "SAW_SPF", Score: 0.1}}}
	}}
	v := newTestEngine(t, time.Second, publishing(spfKey, PhaseMail, "pass"), dmarc).Score(Conn{}, "a@b.example", nil, msgOf("\r\n"))
	if len(v.Failed) != 0 || len(v.Symbols) != 1 {
		t.Errorf("verdict = %+v", v)
	}
}

func TestAwaitFindsOnlyTheKeyThatWasPublished(t *testing.T) {
	// The spf check publishes a string; a key of another type under the
	// same check name finds nothing, rather than a value of the wrong type.
	otherType := NewKey[int]("spf")
	var got atomic.Value
	reader := CheckFunc{"reader", PhaseData, func(ctx context.Context, in *Input) Result {
		_, ok := Await(ctx, in, otherType)
		got.Store(ok)
		return Result{}
	}}
	newTestEngine(t, time.Second, publishing(spfKey, PhaseMail, "pass"), reader).Score(Conn{}, "a@b.example", nil, msgOf("\r\n"))
	if ok, _ := got.Load().(bool); ok {
		t.Error("a key of another type found the spf finding")
	}
}

func TestFinalPhaseSeesEverySymbol(t *testing.T) {
	meta := CheckFunc{"meta", PhaseFinal, func(_ context.Context, in *Input) Result {
		names := strings.Join(symbolNames(in.Symbols), ",")
		if strings.Contains(names, "A") && strings.Contains(names, "B") {
			return Result{Symbols: []Symbol{{Name: "A_AND_B", Score: 3}}}
		}
		return Result{}
	}}
	e := newTestEngine(t, time.Second, meta,
		fixed("a", PhaseConnect, Symbol{Name: "A", Score: 1}), fixed("b", PhaseData, Symbol{Name: "B", Score: 1}))
	v := e.Score(Conn{}, "", nil, msgOf("\r\n"))
	if v.Score != 5 {
		t.Errorf("score = %v, want 5 with the meta symbol", v.Score)
	}
}

func TestResetDropsTransactionButKeepsConnectionResults(t *testing.T) {
	e := newTestEngine(t, time.Second,
		fixed("conn", PhaseConnect, Symbol{Name: "CONN", Score: 1}),
		CheckFunc{"mail", PhaseMail, func(_ context.Context, in *Input) Result {
			if in.From == "spammer@example" {
				return Result{Symbols: []Symbol{{Name: "BAD_SENDER", Score: 10}}}
			}
			return Result{}
		}})
	j := e.Begin(Conn{})
	defer j.Close()
	j.Mail("spammer@example")
	j.Reset()
	j.Mail("friend@example")
	v := j.Finish(msgOf("\r\n"))
	if v.Score != 1 {
		t.Errorf("score = %v: the first transaction leaked into the second (%v)", v.Score, v.Symbols)
	}
}

func TestEarlyWaitsForSenderChecksOnly(t *testing.T) {
	slowListing := CheckFunc{"dnsbl", PhaseConnect, func(context.Context, *Input) Result {
		time.Sleep(20 * time.Millisecond)
		return Result{Symbols: []Symbol{{Name: "DNSBL", Score: 20}}}
	}}
	e := newTestEngine(t, time.Second, slowListing,
		fixed("content", PhaseData, Symbol{Name: "NEVER_YET", Score: 100}))
	j := e.Begin(Conn{})
	defer j.Close()
	j.Mail("a@b.example")
	v := j.Early()
	if v.Action != ActionReject || v.Score != 20 {
		t.Errorf("Early = %+v, want reject on the listing alone", v)
	}
}

func TestNewEngineRefusesBadSettings(t *testing.T) {
	if _, err := NewEngine(Options{Policy: Policy{Reject: 5, AddHeader: 6, Mode: ModeEnforce, Explain: ExplainFull}, Timeout: time.Second}); err == nil {
		t.Error("reject below add_header accepted")
	}
	if _, err := NewEngine(Options{Policy: DefaultPolicy()}); err == nil {
		t.Error("zero timeout accepted")
	}
	if _, err := NewEngine(Options{Policy: DefaultPolicy(), Timeout: time.Second, Checks: []Check{fixed("x", Phase(9))}}); err == nil {
		t.Error("unknown phase accepted")
	}
}

func TestSamePhaseCheckReadsAnother(t *testing.T) {
	dmarc := CheckFunc{"dmarc", PhaseData, func(ctx context.Context, in *Input) Result {
		if v, ok := Await(ctx, in, dkimKey); !ok || v != "valid" {
			return Result{Err: errors.New("no dkim result")}
		}
		if _, ok := Await(ctx, in, dmarcKey); ok {
			return Result{Err: errors.New("waited for itself")}
		}
		return Result{}
	}}
	v := newTestEngine(t, time.Second, dmarc, publishing(dkimKey, PhaseData, "valid")).Score(Conn{}, "", nil, msgOf("\r\n"))
	if len(v.Failed) != 0 {
		t.Errorf("failed: %v", v.Failed)
	}
}

func TestFinalCheckReadsDataResult(t *testing.T) {
	meta := CheckFunc{"meta", PhaseFinal, func(ctx context.Context, in *Input) Result {
		if v, ok := Await(ctx, in, contentKey); !ok || v != 42 {
			return Result{Err: errors.New("no content result")}
		}
		return Result{}
	}}
	v := newTestEngine(t, time.Second, meta, publishing(contentKey, PhaseData, 42)).Score(Conn{}, "", nil, msgOf("\r\n"))
	if len(v.Failed) != 0 {
		t.Errorf("failed: %v", v.Failed)
	}
}

func TestCheckFailuresAreLoggedOncePerOutage(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelWarn}))
	down := CheckFunc{"dnsbl", PhaseConnect, func(context.Context, *Input) Result {
		return Result{Err: errors.New("DNS unavailable: the resolver is not answering")}
	}}
	e, err := NewEngine(Options{Policy: DefaultPolicy(), Timeout: time.Second, Log: log, Checks: []Check{down}})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if v := e.Score(Conn{}, "", nil, msgOf("\r\n")); len(v.Failed) != 1 {
			t.Fatalf("failed = %v: each message must still record the failure", v.Failed)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(buf.String(), "check failed"); n != 1 {
		t.Errorf("%d warnings for one outage over 20 messages, want 1:\n%s", n, buf.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
