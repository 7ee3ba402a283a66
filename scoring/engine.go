package scoring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"relayguard/internal/gopool"
	"relayguard/internal/metrics"
	"relayguard/internal/trace"
	"relayguard/rules/message"
)

// Trust is what the engine asks of the access policy to work out a
// transaction's Facts (internal/access.Policy answers it).
type Trust interface {
	// Trusted tells whether ip is a relay whose Received fields we
	// believe (access.trusted_relays).
	Trusted(ip netip.Addr) bool
	// MayRelay tells whether a client may send to any domain: one on our
	// relay networks, or an authenticated one.
	MayRelay(ip netip.Addr, authenticated bool) bool
}

// Options configure an engine.
type Options struct {
	Policy Policy
	// Timeout bounds each check from its start, and so the wait at end
	// of DATA.
	Timeout time.Duration
	// Trust answers who relays through us and whom we believe; nil
	// trusts nobody and treats no client as ours.
	Trust  Trust
	Log    *slog.Logger
	Checks []Check
	// Classify names the policy class of a recipient and its policy
	// (per-domain or per-recipient thresholds); nil puts every recipient
	// in the default class, under Policy.
	Classify func(rcpt string) (class string, p Policy)
	// RefuseRcpt names a recipient the operator refuses (a local block
	// list): that recipient alone is refused at RCPT, with the symbol as
	// the reason, and the others of the message still get their mail.
	// nil refuses none.
	RefuseRcpt func(rcpt string) (Symbol, bool)
}

// Engine holds the configured checks and policy. It is safe for concurrent
// use; each SMTP session gets its own Job.
type Engine struct {
	checks   [numPhases][]Check
	policy   Policy
	timeout  time.Duration
	trust    Trust
	log      *slog.Logger
	failures failureLog
	classify func(rcpt string) (string, Policy)
	refuse   func(rcpt string) (Symbol, bool)
}

// NewEngine makes an engine.
func NewEngine(opts Options) (*Engine, error) {
	if err := opts.Policy.Validate(); err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		return nil, fmt.Errorf("scoring timeout must be positive, got %v", opts.Timeout)
	}
	e := &Engine{policy: opts.Policy, timeout: opts.Timeout, trust: opts.Trust, log: opts.Log, classify: opts.Classify, refuse: opts.RefuseRcpt}
	if e.trust == nil {
		e.trust = trustNobody{}
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	for _, c := range opts.Checks {
		p := c.Phase()
		if p < PhaseConnect || p >= numPhases {
			return nil, fmt.Errorf("check %s: unknown phase %d", c.Name(), p)
		}
		e.checks[p] = append(e.checks[p], c)
	}
	return e, nil
}

type trustNobody struct{}

func (trustNobody) Trusted(netip.Addr) bool            { return false }
func (trustNobody) MayRelay(_ netip.Addr, a bool) bool { return a }

// Conn describes the client connection a Job is for.
type Conn struct {
	SessionID string
	ClientIP  netip.Addr
	Helo      string
	AuthUser  string
	TLS       bool
}

// Begin starts a job for one connection and its connect-phase checks.
// Close must be called when the session ends.
func (e *Engine) Begin(conn Conn) *Job {
	ctx, cancel := context.WithCancel(context.Background())
	j := &Job{e: e, ctx: ctx, cancel: cancel, base: Input{
		SessionID: conn.SessionID,
		ClientIP:  conn.ClientIP.Unmap(),
		Helo:      conn.Helo,
		TLS:       conn.TLS,
	}}
	j.base.Relayed = conn.ClientIP.IsValid() && e.trust.Trusted(j.base.ClientIP)
	j.setAuth(conn.AuthUser)
	j.startConnect()
	return j
}

// Job is one connection's scoring state: connect-phase results live as long
// as the connection (or until the client logs in), transaction results
// until the next MAIL or Reset.
type Job struct {
	e      *Engine
	ctx    context.Context
	cancel context.CancelFunc
	base   Input

	connRuns   []*run
	connCancel context.CancelFunc
	txRuns     []*run
	rcptRuns   []*run
	txCtx      context.Context
	txCancel   context.CancelFunc
	tx         Input
	// facts are the last message's facts, for the front door's limits
	// (the original hop behind a trusted relay).
	facts Facts
	// class is the policy class the first recipient fixed for the
	// transaction ("" before it, and for the default class), policy its
	// policy: one verdict per transaction.
	class  string
	policy Policy
	fixed  bool
}

// RefusedRcpt tells whether rcpt is refused outright (Options.RefuseRcpt),
// and why.
func (j *Job) RefusedRcpt(rcpt string) (Symbol, bool) { return j.e.RefusedRcpt(rcpt) }

// RefusedRcpt is Job.RefusedRcpt, for offline tools.
func (e *Engine) RefusedRcpt(rcpt string) (Symbol, bool) {
	if e.refuse == nil {
		return Symbol{}, false
	}
	return e.refuse(rcpt)
}

// ClassOf names the policy class of rcpt ("" is the default class).
func (j *Job) ClassOf(rcpt string) string {
	c, _ := j.classOf(rcpt)
	return c
}

func (j *Job) classOf(rcpt string) (string, Policy) {
	if j.e.classify == nil {
		return "", j.e.policy
	}
	return j.e.classify(rcpt)
}

// Class is the policy class of the transaction, fixed by its first
// recipient; the front door refuses (for now) recipients of another.
func (j *Job) Class() string { return j.class }

// txPolicy is the policy the transaction is judged under.
func (j *Job) txPolicy() Policy {
	if j.fixed {
		return j.policy
	}
	return j.e.policy
}

// run is one check in flight.
type run struct {
	check Check
	done  chan struct{}
	res   Result // read only after done is closed
	// deadline is when the check's context ends; join waits for it at
	// most joinGrace longer.
	deadline time.Time
}

// joinGrace is how long past its deadline a check is waited for: one that
// honours its context returns at once, and one that does not (a bug, or a
// library call that takes no context) must not hold the verdict; it is
// counted as failed and left to finish on its own.
const joinGrace = time.Second

// setAuth records who the client is and what follows for the facts known
// before the message.
func (j *Job) setAuth(user string) {
	j.base.AuthUser = user
	// A trusted relay's own mail is decided from its Received fields at
	// end of DATA; anyone else is ours when they may relay through us.
	j.base.Outbound = user != "" || !j.base.Relayed && j.base.ClientIP.IsValid() &&
		j.e.trust.MayRelay(j.base.ClientIP, false)
}

func (j *Job) startConnect() {
	ctx, cancel := context.WithCancel(j.ctx)
	j.connCancel = cancel
	j.connRuns = j.startIn(ctx, PhaseConnect, j.base)
}

// startIn starts the checks of one phase. A check may wait (Await) for any
// check of an earlier phase or of its own (DMARC waits for DKIM); each
// works on a snapshot of the runs, so the session moves on without races.
// A wait cycle cannot hang: every run ends at its deadline. also adds runs
// a phase may wait for beyond the connection's and the transaction's (the
// final phase sees the data phase).
// checkPool runs every check of every job: its goroutines stay between
// messages with their grown stacks (see internal/gopool).
var checkPool = gopool.New()

func (j *Job) startIn(parent context.Context, phase Phase, in Input, also ...*run) []*run {
	checks := j.e.checks[phase]
	runs := make([]*run, len(checks))
	deadline := time.Now().Add(j.e.timeout)
	for i, c := range checks {
		runs[i] = &run{check: c, done: make(chan struct{}), deadline: deadline}
	}
	visible := append(append(append(append(append([]*run(nil), j.connRuns...), j.txRuns...), j.rcptRuns...), also...), runs...)
	for _, r := range runs {
		input := in
		self := r
		input.await = func(ctx context.Context, name string) (Result, bool) {
			return awaitRun(ctx, visible, self, name)
		}
		checkPool.Go(func() { j.execute(parent, r, &input) })
	}
	return runs
}

func (j *Job) execute(parent context.Context, r *run, in *Input) {
	defer close(r.done)
	ctx, cancel := context.WithDeadline(parent, r.deadline)
	defer cancel()
	defer func() {
		// A check is our code handling hostile input: a bug in one must
		// not take the session (or the daemon) down with it.
		if p := recover(); p != nil {
			j.e.log.Error("check panicked", "check", r.check.Name(), "session", in.SessionID, "panic", fmt.Sprint(p))
			r.res = Result{Err: fmt.Errorf("internal error in check %s", r.check.Name())}
		}
	}()
	start := time.Now()
	r.res = r.check.Run(ctx, in)
	metrics.Check(r.check.Name(), time.Since(start))
	if r.res.Err == nil && ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		r.res.Err = fmt.Errorf("%s: %w", r.check.Name(), ctx.Err())
	}
}

// awaitRun finds another run by check name and waits for it.
func awaitRun(ctx context.Context, runs []*run, self *run, name string) (Result, bool) {
	for _, r := range runs {
		if r == self || r.check.Name() != name {
			continue
		}
		select {
		case <-r.done:
			return r.res, true
		case <-ctx.Done():
			return Result{}, false
		}
	}
	return Result{}, false
}

// Auth records a successful SMTP AUTH. The connect-phase checks started
// before the login judged a stranger; they are stopped and started again
// with the login known, so a customer on a home line listed on a policy
// blocklist is judged as the customer it is (go-smtp allows AUTH only
// outside a transaction, so no MAIL-phase check has seen the old state).
func (j *Job) Auth(user string) {
	if user == j.base.AuthUser {
		return
	}
	j.setAuth(user)
	j.connCancel()
	j.startConnect()
}

// Mail starts a transaction: earlier transaction state is dropped and the
// MAIL-phase checks start.
func (j *Job) Mail(from string) {
	j.Reset()
	j.txCtx, j.txCancel = context.WithCancel(j.ctx)
	j.tx = j.base
	j.tx.From = from
	j.tx.Received = time.Now()
	j.txRuns = j.startIn(j.txCtx, PhaseMail, j.tx)
}

// Rcpt records an accepted recipient and starts the recipient-phase
// checks for it.
func (j *Job) Rcpt(to string) {
	if !j.fixed {
		j.class, j.policy = j.classOf(to)
		j.fixed = true
	}
	j.tx.Rcpts = append(j.tx.Rcpts, to)
	if len(j.e.checks[PhaseRcpt]) == 0 {
		return
	}
	in := j.tx
	in.Rcpts = nil
	in.Rcpt = to
	ctx := j.txCtx
	if ctx == nil { // Rcpt without Mail: offline use
		ctx = j.ctx
	}
	j.rcptRuns = append(j.rcptRuns, j.startIn(ctx, PhaseRcpt, in)...)
}

// Reset drops the transaction (RSET, or a new MAIL).
func (j *Job) Reset() {
	if j.txCancel != nil {
		j.txCancel()
	}
	j.txCtx, j.txCancel = nil, nil
	j.txRuns, j.rcptRuns = nil, nil
	j.tx = Input{}
	j.class, j.policy, j.fixed = "", Policy{}, false
}

// Early judges the transaction on the checks that judge the sender
// (connect, MAIL and recipient phases) alone, waiting for them (each is
// bounded by the engine timeout). Front ends use it to refuse at RCPT,
// before the body is sent, when the sender alone already reaches the
// reject threshold. Checks that failed are not counted as failures here:
// DATA may still bring enough to decide.
func (j *Job) Early() Verdict {
	syms, auth, _ := j.join(j.sofar())
	v := decide(j.txPolicy(), syms, auth, nil)
	v.Class = j.class
	return v
}

// EarlyFor is Early for a transaction about to take rcpt: before the
// first recipient is accepted, it judges under rcpt's class.
func (j *Job) EarlyFor(rcpt string) Verdict {
	if j.fixed {
		return j.Early()
	}
	class, p := j.classOf(rcpt)
	syms, auth, _ := j.join(j.sofar())
	v := decide(p, syms, auth, nil)
	v.Class = class
	return v
}

func (j *Job) sofar() []*run {
	return append(append(append([]*run(nil), j.connRuns...), j.txRuns...), j.rcptRuns...)
}

// Finish works out the facts the message tells (the original hop behind a
// trusted relay, and so whether it is our users' mail), starts the
// data-phase checks on msg, joins every check of the connection and
// transaction, runs the final phase and returns the verdict. It returns
// within the engine timeout (plus the final phase).
func (j *Job) Finish(msg *message.Message) Verdict {
	in := j.tx
	if in.Received.IsZero() { // offline use: Finish without Mail
		in = j.base
		in.Received = time.Now()
	}
	in.Rcpts = append([]string(nil), in.Rcpts...)
	in.Message = msg
	j.messageFacts(&in.Facts, msg)
	j.facts = in.Facts
	dataRuns := j.startIn(j.ctx, PhaseData, in)

	all := append(j.sofar(), dataRuns...)
	syms, auth, failed := j.join(all)

	final := in
	final.Symbols = append([]Symbol(nil), syms...)
	fs, fa, ff := j.join(j.startIn(j.ctx, PhaseFinal, final, dataRuns...))
	syms = append(syms, fs...)
	auth = append(auth, fa...)
	failed = append(failed, ff...)
	v := decide(j.txPolicy(), syms, auth, failed)
	v.Class = j.class
	return v
}

// Facts returns the facts of the message Finish judged last: the front
// door counts the original hop's volume by them without re-reading the
// Received chain.
func (j *Job) Facts() Facts { return j.facts }

// messageFacts reads what the message says of its origin, once: its From
// domains, and behind a trusted relay the original hop, which is the host
// to judge; a hop that authenticated to the relay (or none at all: local
// submission on the relay) makes the mail our users' own.
func (j *Job) messageFacts(f *Facts, msg *message.Message) {
	if msg == nil {
		return
	}
	f.FromDomains = msg.From().Domains
	if !f.Relayed {
		return
	}
	hop, ok := trace.OriginalHop(msg.Header, j.e.trust.Trusted, j.base.ClientIP)
	if ok {
		f.Hop = &hop
	}
	f.Outbound = f.AuthUser != "" || !ok || hop.Authenticated()
}

// join waits for runs, each until its deadline (plus joinGrace), and
// merges them.
func (j *Job) join(runs []*run) (syms []Symbol, auth []authres.Result, failed []string) {
	var late *time.Timer // one timer for the whole join, made only if needed
	for _, r := range runs {
		select {
		case <-r.done:
		default:
			wait := time.Until(r.deadline) + joinGrace
			if late == nil {
				late = time.NewTimer(wait)
				defer late.Stop()
			} else {
				late.Reset(wait)
			}
			select {
			case <-r.done:
			case <-late.C:
				failed = append(failed, r.check.Name())
				j.e.failures.report(j.e.log, j.base.SessionID, r.check.Name(),
					fmt.Errorf("%s: still running %v past its deadline", r.check.Name(), joinGrace))
				continue
			}
		}
		syms = append(syms, r.res.Symbols...)
		auth = append(auth, r.res.Auth...)
		if r.res.Err != nil {
			failed = append(failed, r.check.Name())
			j.e.failures.report(j.e.log, j.base.SessionID, r.check.Name(), r.res.Err)
		}
	}
	return syms, auth, failed
}

// Close cancels whatever is still running.
func (j *Job) Close() { j.cancel() }

// Score runs every phase on one message at once: the offline path used by
// `relayguard check`.
func (e *Engine) Score(conn Conn, from string, rcpts []string, msg *message.Message) Verdict {
	j := e.Begin(conn)
	defer j.Close()
	j.Mail(from)
	for _, r := range rcpts {
		if _, refused := e.RefusedRcpt(r); !refused { // as the session refuses it
			j.Rcpt(r)
		}
	}
	return j.Finish(msg)
}

// failureLog keeps an outage from writing a warning per message: a check's
// failure is logged at Warn at most once a minute, with the number of
// failures since the last warning; the rest go to Debug. Every message's
// own log line still names the checks that failed for it.
type failureLog struct {
	mu   sync.Mutex
	last map[string]failureState
}

type failureState struct {
	at     time.Time
	missed int
}

const failureLogEvery = time.Minute

func (f *failureLog) report(log *slog.Logger, session, check string, err error) {
	f.mu.Lock()
	if f.last == nil {
		f.last = make(map[string]failureState)
	}
	st := f.last[check]
	now := time.Now()
	warn := now.Sub(st.at) >= failureLogEvery
	if warn {
		f.last[check] = failureState{at: now}
	} else {
		st.missed++
		f.last[check] = st
	}
	f.mu.Unlock()
	if warn {
		log.Warn("check failed", "session", session, "check", check, "err", err, "failures_since_last_warning", st.missed)
		return
	}
	log.Debug("check failed", "session", session, "check", check, "err", err)
}
