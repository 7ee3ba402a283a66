package auth

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/authres"
)

func TestFormatHeader(t *testing.T) {
	results := []authres.Result{
		&authres.SPFResult{Value: authres.ResultPass, From: "alice@example.com"},
		&authres.SPFResult{Value: authres.ResultNone, Helo: "mx.example.com"},
		&authres.DKIMResult{Value: authres.ResultPass, Domain: "example.com", Identifier: "@example.com"},
		&authres.DKIMResult{Value: authres.ResultFail, Domain: "list.example", Reason: "body hash did not verify"},
		&authres.DMARCResult{Value: authres.ResultPass, From: "example.com"},
		&authres.DMARCResult{Value: authres.ResultPermError},
	}
	got := FormatHeader("mx.example.net", results)
	want := "mx.example.net; spf=pass smtp.mailfrom=alice@example.com; spf=none smtp.helo=mx.example.com;" +
		" dkim=pass header.d=example.com header.i=@example.com;" +
		` dkim=fail reason="body hash did not verify" header.d=list.example;` +
		" dmarc=pass header.from=example.com; dmarc=permerror"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// It reads back as what went in.
	id, back, err := authres.Parse(got)
	if err != nil || id != "mx.example.net" || len(back) != len(results) {
		t.Fatalf("parse: id %q, %d results, err %v", id, len(back), err)
	}

	if got := FormatHeader("mx.example.net", nil); got != "mx.example.net; none" {
		t.Errorf("no results: %q", got)
	}
}

// Nothing that came from a message can break the header open.
func TestFormatHeaderInjection(t *testing.T) {
	got := FormatHeader("mx.example.net\r\nX-Evil: 1", []authres.Result{
		&authres.DKIMResult{Value: authres.ResultFail, Domain: "a.example\r\nX-Injected: yes", Reason: "bad\nline"},
	})
	if strings.ContainsAny(got, "\r\n") {
		t.Fatalf("line break in %q", got)
	}
	// The value can be written by go-message (which refuses CR and LF).
	var h textproto.Header
	h.Add(HeaderName, got)
	var b bytes.Buffer
	if err := textproto.WriteHeader(&b, h); err != nil {
		t.Fatal(err)
	}
	// A long value is folded, at worst (a word longer than the 76-column
	// line go-message aims for) under RFC 5322's hard limit of 998.
	long := FormatHeader("mx.example.net", []authres.Result{
		&authres.SPFResult{Value: authres.ResultPass, From: "a-rather-long-local-part@subdomain.of.a.rather.long.example.com"},
		&authres.DKIMResult{Value: authres.ResultPass, Domain: "subdomain.of.a.rather.long.example.com", Identifier: "@subdomain.of.a.rather.long.example.com"},
	})
	h = textproto.Header{}
	h.Add(HeaderName, long)
	b.Reset()
	if err := textproto.WriteHeader(&b, h); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\r\n\r\n"), "\r\n")
	if len(lines) < 2 {
		t.Errorf("not folded: %q", lines)
	}
	for _, line := range lines {
		if len(line) > 998 {
			t.Errorf("line of %d characters", len(line))
		}
	}
}

func TestStripSpoofed(t *testing.T) {
	raw := strings.Join([]string{
		"Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=a@example.com",
		"Authentication-Results: MX.Example.NET; dkim=pass header.d=paypal.com",
		"Authentication-Results: (forged) mx.example.net; dmarc=pass header.from=paypal.com",
		"Authentication-Results: \"mx.example.net\" 1; dmarc=pass",
		"Authentication-Results: mx.example.net.; dmarc=pass",
		"authentication-results:  (a (nested) comment)\r\n mx.example.net(x);spf=pass",
		"Authentication-Results: mx.example.net", // no results at all
		"Authentication-Results: mx.google.com; dkim=pass header.d=example.com",
		"Authentication-Results: mx.example.net.evil.example; spf=pass",
		"Authentication-Results: mx.example; spf=pass",
		"Authentication-Results: (unterminated mx.example.net; spf=pass",
		"ARC-Authentication-Results: i=1; mx.example.net; spf=pass",
		"From: a@example.com",
		"", "body",
	}, "\r\n")
	h, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if n := StripSpoofed(&h, "mx.example.net"); n != 7 {
		t.Errorf("removed %d fields, want 7", n)
	}
	var kept []string
	for f := h.FieldsByKey(HeaderName); f.Next(); {
		kept = append(kept, f.Value())
	}
	want := []string{
		"mx.google.com; dkim=pass header.d=example.com",
		"mx.example.net.evil.example; spf=pass",
		"mx.example; spf=pass",
		"(unterminated mx.example.net; spf=pass",
	}
	if strings.Join(kept, "|") != strings.Join(want, "|") {
		t.Errorf("kept\n%q\nwant\n%q", kept, want)
	}
	if !h.Has("Arc-Authentication-Results") || !h.Has("From") {
		t.Error("removed other fields")
	}
	if n := StripSpoofed(&h, ""); n != 0 {
		t.Errorf("empty authserv-id removed %d fields", n)
	}
}

func TestParseAuthservID(t *testing.T) {
	for in, want := range map[string]string{
		"mx.example.net; spf=pass":        "mx.example.net",
		"  mx.example.net 1; none":        "mx.example.net",
		"(c) mx.example.net;":             "mx.example.net",
		"((a)(b\\)c)) mx.example.net":     "mx.example.net",
		`"quoted \"id\""; spf=pass`:       `quoted "id"`,
		"mx.example.net(comment); none":   "mx.example.net",
		"\tmx.example.net\r\n ; spf=none": "mx.example.net",
	} {
		got, ok := parseAuthservID(in)
		if !ok || got != want {
			t.Errorf("parseAuthservID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "   ", "(open", `"open`, "; spf=pass", strings.Repeat("(", 40) + "x" + strings.Repeat(")", 40)} {
		if got, ok := parseAuthservID(in); ok {
			t.Errorf("parseAuthservID(%q) = %q, want no id", in, got)
		}
	}
}

func FuzzParseAuthservID(f *testing.F) {
	for _, s := range []string{"mx.example.net; spf=pass", "(c) \"q\\\"x\"; none", "((((", `"`, "a\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, ok := parseAuthservID(v)
		if ok && id == "" {
			t.Fatal("ok with an empty id")
		}
		// Whatever FormatHeader writes for an id, StripSpoofed finds.
		if !ok || strings.ContainsAny(id, "\x00") {
			return
		}
		safe := headerSafe(id)
		if normAuthservID(safe) == "" { // "." names no one
			return
		}
		var h textproto.Header
		h.Add(HeaderName, FormatHeader(safe, nil))
		if n := StripSpoofed(&h, safe); n != 1 {
			t.Fatalf("id %q: FormatHeader gives %q, StripSpoofed removed %d", safe, FormatHeader(safe, nil), n)
		}
	})
}
