package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-msgauth/authres"

	"relayguard/config"
	"relayguard/console"
	"relayguard/filter"
	"relayguard/internal/history"
	"relayguard/internal/store"
	"relayguard/rules"
	"relayguard/scoring/classifier"
	"relayguard/scoring/dns"
	"relayguard/scoring/dnsbl"
)

// consoleParts are what serve runs for the console: the history's
// recorder (its hook goes to the filter) and the console's HTTP server.
type consoleParts struct {
	hist     *history.History
	onJudged func(*filter.Judged)
	stop     func()
}

// startConsole starts the verdict history (console.listen set, or
// console.record) and the console (console.listen). Nothing when neither.
func startConsole(c *config.Config, svc *services, log *slog.Logger) (*consoleParts, error) {
	p := &consoleParts{stop: func() {}}
	if c.Console.Listen == "" && !c.Console.Record {
		return p, nil
	}
	hs, ok := svc.store.(store.History)
	if !ok {
		return nil, errors.New("console: the state store keeps no history")
	}
	p.hist = history.New(hs, history.Options{Max: c.Console.HistoryMax, Age: c.Console.HistoryAge.Duration, Log: log})
	var cl *classifier.Classifier
	if c.Classifier.Enabled {
		var err error
		if cl, err = newClassifier(c, svc); err != nil {
			p.hist.Close()
			return nil, err
		}
	}
	keep := recordOptions{subjects: c.Console.StoreSubjects, allTokens: c.Console.Tokens == "always"}
	if c.Console.Tokens == "never" {
		cl = nil // no tokens kept: nothing to train from, no trainer
	}
	p.onJudged = func(j *filter.Judged) { p.hist.Record(recordOf(j, cl, keep)) }
	p.stop = p.hist.Close
	if c.Console.Listen == "" {
		return p, nil
	}
	users, err := filter.LoadUsers(c.ConsoleUsersFile())
	if err != nil {
		p.hist.Close()
		return nil, fmt.Errorf("console.users_file: %w", err)
	}
	o := console.Options{Users: users, History: p.hist, Describe: svc.describe, Log: log,
		Lists:  func() []dnsbl.ListStatus { return svc.inService().monitor.Status() },
		Egress: func() []dnsbl.EgressResult { return svc.inService().egress.Status() }}
	var res dns.Resolver // a nil *dns.Client must stay a nil interface
	if svc.resolver != nil {
		res = svc.resolver
	}
	o.Bounce = consoleBounce(c, res, log)
	if cl != nil {
		o.Trainer = cl
	}
	h, err := console.New(o)
	if err != nil {
		p.hist.Close()
		return nil, err
	}
	l, err := net.Listen("tcp", c.Console.Listen)
	if err != nil {
		p.hist.Close()
		return nil, fmt.Errorf("console.listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("console server stopped", "err", err)
		}
	}()
	log.Info("console listening", "addr", l.Addr().String(), "users_file", c.ConsoleUsersFile())
	p.stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		p.hist.Close()
	}
	return p, nil
}

// recordOptions say what a record keeps beyond the verdict.
type recordOptions struct {
	subjects  bool // console.store_subjects
	allTokens bool // console.tokens = "always"
}

// recordOf is the history's record of a judged message. It runs in the
// session (the message is readable only now). The tokens are those the
// classifier's check computed, unless every message is to be tokenized:
// tokenizing costs the mail path more than the rest of the history.
func recordOf(j *filter.Judged, cl *classifier.Classifier, o recordOptions) *history.Record {
	v := j.Verdict
	r := &history.Record{ID: fmt.Sprintf("%s.%d", j.Ref, j.Seq), Ref: j.Ref, Time: j.Time.Truncate(time.Microsecond), Helo: j.Helo, From: j.From,
		Rcpts: slices.Clone(j.Rcpts), User: j.User, Size: j.Size, Score: v.Score, Action: string(v.Action),
		Class: v.Class, Reject: v.Policy.Reject, AddHeader: v.Policy.AddHeader, WouldReject: v.WouldReject,
		Failed: slices.Clone(v.Failed), RejectText: j.RejectLines, Reply: j.Reply}
	if j.IP.IsValid() {
		r.IP = j.IP.String()
	}
	for _, s := range v.Symbols {
		r.Symbols = append(r.Symbols, history.Symbol{Name: s.Name, Score: s.Score, Detail: s.Detail})
	}
	for _, a := range v.Auth {
		// Format gives "id; method=result params"; the console shows the part after the id.
		_, one, _ := strings.Cut(authres.Format("x", []authres.Result{a}), "; ")
		r.Auth = append(r.Auth, strings.TrimSpace(one))
	}
	if j.Message == nil {
		return r
	}
	if o.subjects {
		r.Subject = subjectOf(j.Message.Header.Get("Subject"))
	}
	if cl == nil {
		return r
	}
	toks, ok := cl.JudgedTokens(j.Message, j.Facts.Hop)
	if !ok && o.allTokens {
		toks, ok = cl.MessageTokens(j.Message, j.Facts.Hop), true
	}
	if !ok {
		return r
	}
	if id, err := classifier.MessageID(j.Message); err == nil {
		r.LearnID, r.Tokens = id, toks
	}
	return r
}

// subjectOf decodes RFC 2047 words and bounds the length; a subject that
// will not decode is kept as it came.
func subjectOf(raw string) string {
	s, err := new(mime.WordDecoder).DecodeHeader(raw)
	if err != nil {
		s = raw
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	const max = 300
	for len(s) > max {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}

// servicesInService is what the engine in service uses, as the console
// reads it from its own goroutines while SIGHUP swaps engines.
type servicesInService struct {
	monitor *dnsbl.Monitor
	egress  *dnsbl.EgressWatch
	rules   *rules.Ruleset
}

// publish records what adopt put in service.
func (s *services) publish() {
	s.current.Store(&servicesInService{monitor: s.monitor, egress: s.egress, rules: s.ruleset})
}

func (s *services) inService() *servicesInService {
	if p := s.current.Load(); p != nil {
		return p
	}
	return &servicesInService{}
}

// describe is a symbol's description: a content rule's from its rule
// file, a sender check's from the console's table.
func (s *services) describe(name string) string {
	if rs := s.inService().rules; rs != nil {
		for _, r := range rs.Rules() {
			if r.Name == name && r.Description != "" {
				return r.Description
			}
		}
	}
	return console.DescribeSenderSymbol(name)
}
