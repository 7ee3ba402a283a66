package scoring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"relayguard/rules"
)

// Engine holds the configured checks and policy. It is safe for concurrent
// use; each SMTP session gets its own Job.
type Engine struct {
	checks  [4][]Check // by phase
	policy  Policy
	timeout time.Duration
	log     *slog.Logger
}

// NewEngine makes an engine. timeout bounds each check from its start, and
// so bounds the wait at end of DATA.
func NewEngine(policy Policy, timeout time.Duration, log *slog.Logger, checks ...Check) (*Engine, error) {
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("scoring timeout must be positive, got %v", timeout)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{policy: policy, timeout: timeout, log: log}
	for _, c := range checks {
		p := c.Phase()
		if p < PhaseConnect || p > PhaseFinal {
			return nil, fmt.Errorf("check %s: unknown phase %d", c.Name(), p)
		}
		e.checks[p] = append(e.checks[p], c)
	}
	return e, nil
}

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
		ClientIP:  conn.ClientIP,
		Helo:      conn.Helo,
		AuthUser:  conn.AuthUser,
		TLS:       conn.TLS,
	}}
	j.connRuns = j.start(PhaseConnect, j.base)
	return j
}

// Job is one connection's scoring state: connect-phase results live as long
// as the connection, transaction results until the next MAIL or Reset.
type Job struct {
	e      *Engine
	ctx    context.Context
	cancel context.CancelFunc
	base   Input

	connRuns []*run
	txRuns   []*run
	txCancel context.CancelFunc
	tx       Input
}

// run is one check in flight.
type run struct {
	check Check
	done  chan struct{}
	res   Result
}

func (j *Job) start(phase Phase, in Input, also ...*run) []*run {
	return j.startIn(j.ctx, phase, in, also...)
}

// startIn starts the checks of one phase. A check may wait (Input.Prior)
// for any check of an earlier phase or of its own (DMARC waits for DKIM);
// each works on a snapshot of the runs, so the session moves on without
// races. A wait cycle cannot hang: every run ends at its deadline.
// also adds runs a phase may wait for beyond the connection's and the
// transaction's (the final phase sees the data phase).
func (j *Job) startIn(parent context.Context, phase Phase, in Input, also ...*run) []*run {
	checks := j.e.checks[phase]
	runs := make([]*run, len(checks))
	for i, c := range checks {
		runs[i] = &run{check: c, done: make(chan struct{})}
	}
	visible := append(append(append(append([]*run(nil), j.connRuns...), j.txRuns...), also...), runs...)
	for _, r := range runs {
		input := in
		self := r
		input.prior = func(ctx context.Context, name string) (Result, bool) {
			return awaitRun(ctx, visible, self, name)
		}
		go j.execute(parent, r, &input)
	}
	return runs
}

func (j *Job) execute(parent context.Context, r *run, in *Input) {
	defer close(r.done)
	ctx, cancel := context.WithTimeout(parent, j.e.timeout)
	defer cancel()
	defer func() {
		// A check is our code handling hostile input: a bug in one must
		// not take the session (or the daemon) down with it.
		if p := recover(); p != nil {
			j.e.log.Error("check panicked", "check", r.check.Name(), "session", in.SessionID, "panic", fmt.Sprint(p))
			r.res = Result{Err: fmt.Errorf("internal error in check %s", r.check.Name())}
		}
	}()
	r.res = r.check.Run(ctx, in)
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

// Auth records a successful SMTP AUTH.
func (j *Job) Auth(user string) { j.base.AuthUser = user }

// Mail starts a transaction: earlier transaction state is dropped and the
// MAIL-phase checks start.
func (j *Job) Mail(from string) {
	j.Reset()
	ctx, cancel := context.WithCancel(j.ctx)
	j.txCancel = cancel
	j.tx = j.base
	j.tx.From = from
	j.tx.Received = time.Now()
	j.txRuns = j.startIn(ctx, PhaseMail, j.tx)
}

// Rcpt records an accepted recipient.
func (j *Job) Rcpt(to string) { j.tx.Rcpts = append(j.tx.Rcpts, to) }

// Reset drops the transaction (RSET, or a new MAIL).
func (j *Job) Reset() {
	if j.txCancel != nil {
		j.txCancel()
	}
	j.txCancel = nil
	j.txRuns = nil
	j.tx = Input{}
}

// Early judges the transaction on the connect- and MAIL-phase checks
// alone, waiting for them (each is bounded by the engine timeout). Front
// ends use it to refuse at RCPT, before the body is sent, when the sender
// alone already reaches the reject threshold. Checks that failed are not
// counted as failures here: DATA may still bring enough to decide.
func (j *Job) Early() Verdict {
	syms, auth, _ := j.join(append(append([]*run(nil), j.connRuns...), j.txRuns...))
	return decide(j.e.policy, syms, auth, nil)
}

// Finish starts the data-phase checks on msg, joins every check of the
// connection and transaction, runs the final phase and returns the verdict.
// It returns within the engine timeout (plus the final phase).
func (j *Job) Finish(msg *rules.Message) Verdict {
	in := j.tx
	if in.Received.IsZero() { // offline use: Finish without Mail
		in = j.base
		in.Received = time.Now()
	}
	in.Rcpts = append([]string(nil), in.Rcpts...)
	in.Message = msg
	dataRuns := j.start(PhaseData, in)

	var all []*run
	all = append(all, j.connRuns...)
	all = append(all, j.txRuns...)
	all = append(all, dataRuns...)
	syms, auth, failed := j.join(all)

	final := in
	final.Symbols = append([]Symbol(nil), syms...)
	fs, fa, ff := j.join(j.start(PhaseFinal, final, dataRuns...))
	syms = append(syms, fs...)
	auth = append(auth, fa...)
	failed = append(failed, ff...)
	return decide(j.e.policy, syms, auth, failed)
}

// join waits for runs (each bounded by its own deadline) and merges them.
func (j *Job) join(runs []*run) (syms []Symbol, auth []authres.Result, failed []string) {
	for _, r := range runs {
		<-r.done
		syms = append(syms, r.res.Symbols...)
		auth = append(auth, r.res.Auth...)
		if r.res.Err != nil {
			failed = append(failed, r.check.Name())
			j.e.log.Warn("check failed", "session", j.base.SessionID, "check", r.check.Name(), "err", r.res.Err)
		}
	}
	return syms, auth, failed
}

// Close cancels whatever is still running.
func (j *Job) Close() { j.cancel() }

// Score runs every phase on one message at once: the offline path used by
// `relayguard check`.
func (e *Engine) Score(conn Conn, from string, rcpts []string, msg *rules.Message) Verdict {
	j := e.Begin(conn)
	defer j.Close()
	j.Mail(from)
	for _, r := range rcpts {
		j.Rcpt(r)
	}
	return j.Finish(msg)
}
