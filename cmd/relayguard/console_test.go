package main

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"relayguard/filter"
	"relayguard/internal/store"
	"relayguard/rules/message"
	"relayguard/scoring"
	"relayguard/scoring/classifier"
)

func TestHistoryRecordOfAJudgedMessage(t *testing.T) {
	raw := "From: a@b.example\r\nSubject: =?utf-8?q?caf=C3=A9_prices?=\r\nMessage-Id: <1@b.example>\r\n\r\ncheap pills today\r\n"
	msg := message.ParseMessage(bytes.NewReader([]byte(raw)), int64(len(raw)))
	v := &scoring.Verdict{Score: 17, Action: scoring.ActionReject, Policy: scoring.Policy{Reject: 15, AddHeader: 6},
		Symbols: []scoring.Symbol{{Name: "DNSBL_ZEN", Score: 6, Detail: "listed (127.0.0.2)"}},
		Auth:    []authres.Result{&authres.SPFResult{Value: authres.ResultFail, From: "b.example"}}}
	j := &filter.Judged{Ref: "ABC", Seq: 2, Time: time.Unix(1_800_000_000, 123456789), IP: netip.MustParseAddr("203.0.113.7"),
		From: "a@b.example", Rcpts: []string{"x@ours.example"}, Verdict: v, RejectLines: []string{"rejected"}, Message: msg}
	cl, err := classifier.New(classifier.Options{Store: store.NewMemory(nil)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cl      *classifier.Classifier
		keep    recordOptions
		noMsg   bool
		subject string
		tokens  bool
	}{
		{"subject kept only when asked", nil, recordOptions{subjects: true}, false, "café prices", false},
		{"no subject by default", nil, recordOptions{}, false, "", false},
		{"no tokens the classifier did not compute", cl, recordOptions{}, false, "", false},
		{"tokens of every message when asked", cl, recordOptions{allTokens: true}, false, "", true},
		{"refused before DATA: neither", cl, recordOptions{subjects: true, allTokens: true}, true, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			jj := *j
			if tc.noMsg {
				jj.Message = nil
			}
			r := recordOf(&jj, tc.cl, tc.keep)
			if r.Subject != tc.subject {
				t.Errorf("subject %q, want %q", r.Subject, tc.subject)
			}
			if (len(r.Tokens) > 0) != tc.tokens || (r.LearnID != "") != tc.tokens {
				t.Errorf("tokens %d learn id %q, want tokens: %v", len(r.Tokens), r.LearnID, tc.tokens)
			}
			if r.ID != "ABC.2" || r.Ref != "ABC" {
				t.Errorf("id %q ref %q, want ABC.2 ABC", r.ID, r.Ref)
			}
			if r.IP != "203.0.113.7" || r.Reject != 15 || r.Action != "reject" || len(r.Symbols) != 1 || r.RejectText[0] != "rejected" {
				t.Errorf("record %+v", r)
			}
			if len(r.Auth) != 1 || !strings.HasPrefix(r.Auth[0], "spf=fail") {
				t.Errorf("auth %q, want spf=fail ...", r.Auth)
			}
			if r.Time.Nanosecond()%1000 != 0 {
				t.Errorf("time %v not in whole microseconds (Redis orders by them)", r.Time)
			}
		})
	}
}
