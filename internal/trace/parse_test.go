package trace

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestParseReadsRealMTAFormats(t *testing.T) {
	tests := []struct {
		name     string
		value    string
		wantIP   string
		wantHelo string
		wantRDNS string
		wantBy   string
		wantTime string // RFC 3339, "" for zero
	}{
		{
			name: "Postfix IPv4 with TLS comments",
			value: "from mail.example.com (mail.example.com [203.0.113.7])\r\n" +
				"\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n" +
				"\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\r\n" +
				"\t(No client certificate requested)\r\n" +
				"\tby mx.example.org (Postfix) with ESMTPS id 4Xyz1234AbC\r\n" +
				"\tfor <user@example.org>; Tue,  3 Jun 2025 10:00:00 +0000 (UTC)",
			wantIP: "203.0.113.7", wantHelo: "mail.example.com", wantRDNS: "mail.example.com",
			wantBy: "mx.example.org", wantTime: "2025-06-03T10:00:00Z",
		},
		{
			name:   "Postfix unknown reverse DNS",
			value:  "from WIN-4ABC123 (unknown [198.51.100.23]) by mx.example.org (Postfix) with ESMTP id 4A; Tue, 3 Jun 2025 12:00:00 +0200 (CEST)",
			wantIP: "198.51.100.23", wantHelo: "WIN-4ABC123", wantRDNS: "",
			wantBy: "mx.example.org", wantTime: "2025-06-03T10:00:00Z",
		},
		{
			name:   "Postfix IPv6 tag",
			value:  "from mail6.example.com (mail6.example.com [IPv6:2001:db8:1::7]) by mx.example.org (Postfix) with ESMTPS id 4B for <u@example.org>; Tue, 3 Jun 2025 10:00:00 +0000",
			wantIP: "2001:db8:1::7", wantHelo: "mail6.example.com", wantRDNS: "mail6.example.com",
			wantBy: "mx.example.org", wantTime: "2025-06-03T10:00:00Z",
		},
		{
			name:   "Postfix address-literal HELO",
			value:  "from [203.0.113.9] (unknown [203.0.113.9]) by mx.example.org (Postfix) with ESMTP id 4C; Tue, 3 Jun 2025 10:00:00 +0000",
			wantIP: "203.0.113.9", wantHelo: "[203.0.113.9]", wantBy: "mx.example.org", wantTime: "2025-06-03T10:00:00Z",
		},
		{
			name: "Exim with helo differing from reverse name",
			value: "from host7.isp.example ([203.0.113.7] helo=mail.example.com)\n" +
				"\tby forwarder.example.net with esmtps  (TLS1.3) tls TLS_AES_256_GCM_SHA384\n" +
				"\t(Exim 4.96)\n\t(envelope-from <alice@example.com>)\n\tid 1uMxyz-000ABC-2b\n" +
				"\tfor bob@example.net;\n\tTue, 03 Jun 2025 10:00:00 +0000",
			wantIP: "203.0.113.7", wantHelo: "mail.example.com", wantRDNS: "host7.isp.example",
			wantBy: "forwarder.example.net", wantTime: "2025-06-03T10:00:00Z",
		},
		{
			name:   "Exim without reverse DNS",
			value:  "from [198.51.100.23] (helo=WIN-4ABC123) by forwarder.example.net with esmtp (Exim 4.96) (envelope-from <x@y.example>) id 1uM-0001; Tue, 03 Jun 2025 10:00:00 +0000",
			wantIP: "198.51.100.23", wantHelo: "WIN-4ABC123", wantRDNS: "",
			wantBy: "forwarder.example.net", wantTime: "2025-06-03T10:00:00Z",
		},
		{
			name:   "Exim helo equal to reverse name, with port",
			value:  "from mail.example.com ([203.0.113.7]:48212) by forwarder.example.net with esmtps (Exim 4.97) id 1uM-0002; Tue, 03 Jun 2025 10:00:00 +0000",
			wantIP: "203.0.113.7", wantHelo: "mail.example.com",
			wantBy: "forwarder.example.net", wantTime: "2025-06-03T10:00:00Z",
		},
		{
			name:   "Exim IPv6 without tag",
			value:  "from [2001:db8:2::25] (helo=mail6.example.com) by forwarder.example.net with esmtp (Exim 4.96) id 1uM-0003; Tue, 03 Jun 2025 10:00:00 +0000",
			wantIP: "2001:db8:2::25", wantHelo: "mail6.example.com",
			wantBy: "forwarder.example.net", wantTime: "2025-06-03T10:00:00Z",
		},
		{
			name:   "Exim IPv6 with port and reverse name",
			value:  "from mail6.example.com ([2001:db8:2::25]:51234 helo=mail6.example.com) by forwarder.example.net with esmtps (Exim 4.96) id 1uM-0004; Tue, 03 Jun 2025 10:00:00 +0000",
			wantIP: "2001:db8:2::25", wantHelo: "mail6.example.com", wantRDNS: "mail6.example.com",
			wantBy: "forwarder.example.net", wantTime: "2025-06-03T10:00:00Z",
		},
		{
			name:   "sendmail may be forged",
			value:  "from mail.example.com (host7.isp.example [203.0.113.7] (may be forged)) by mx.example.org (8.17.1/8.17.1) with ESMTP id 553A0000012345 for <u@example.org>; Tue, 3 Jun 2025 10:00:00 GMT",
			wantIP: "203.0.113.7", wantHelo: "mail.example.com", wantRDNS: "host7.isp.example",
			wantBy: "mx.example.org", wantTime: "2025-06-03T10:00:00Z",
		},
		{
			name:   "sendmail without reverse name",
			value:  "from helo.example ([203.0.113.8]) by mx.example.org (8.17.1/8.17.1) with SMTP id 553A1; Tue, 3 Jun 2025 10:00:00 -0000",
			wantIP: "203.0.113.8", wantHelo: "helo.example",
			wantBy: "mx.example.org", wantTime: "2025-06-03T10:00:00Z",
		},
		{
			name:   "Gmail reverse name with trailing dot",
			value:  "from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41]) by mx.google.com with SMTPS id a1sor; Tue, 03 Jun 2025 03:00:00 -0700 (PDT)",
			wantIP: "209.85.220.41", wantHelo: "mail-sor-f41.google.com", wantRDNS: "mail-sor-f41.google.com",
			wantBy: "mx.google.com", wantTime: "2025-06-03T10:00:00Z",
		},
		{
			name:   "qmail",
			value:  "from unknown (HELO mail.example.com) (203.0.113.7) by mx.example.org with SMTP; 3 Jun 2025 10:00:00 -0000",
			wantIP: "203.0.113.7", wantHelo: "mail.example.com", wantRDNS: "",
			wantBy: "mx.example.org", wantTime: "2025-06-03T10:00:00Z",
		},
		{
			name:   "Microsoft internal hop",
			value:  "from EXCH01.corp.example (10.0.0.5) by EXCH02.corp.example (10.0.0.6) with Microsoft SMTP Server (version=TLS1_2) id 15.2.1118.40; Tue, 3 Jun 2025 10:00:00 +0000",
			wantIP: "10.0.0.5", wantHelo: "EXCH01.corp.example",
			wantBy: "EXCH02.corp.example", wantTime: "2025-06-03T10:00:00Z",
		},
		{
			name:   "IPv4-mapped IPv6 unmapped",
			value:  "from m.example (m.example [IPv6:::ffff:203.0.113.7]) by mx.example.org (Postfix) with ESMTP id 4D",
			wantIP: "203.0.113.7", wantHelo: "m.example", wantRDNS: "m.example", wantBy: "mx.example.org",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Parse(tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if h.IP != netip.MustParseAddr(tt.wantIP) {
				t.Errorf("IP = %v, want %s", h.IP, tt.wantIP)
			}
			if h.Helo != tt.wantHelo {
				t.Errorf("Helo = %q, want %q", h.Helo, tt.wantHelo)
			}
			if h.RDNS != tt.wantRDNS {
				t.Errorf("RDNS = %q, want %q", h.RDNS, tt.wantRDNS)
			}
			if h.By != tt.wantBy {
				t.Errorf("By = %q, want %q", h.By, tt.wantBy)
			}
			got := ""
			if !h.Time.IsZero() {
				got = h.Time.UTC().Format(time.RFC3339)
			}
			if got != tt.wantTime {
				t.Errorf("Time = %q, want %q", got, tt.wantTime)
			}
		})
	}
}

func TestParseRefusesFieldsWithoutClientIP(t *testing.T) {
	tests := []struct {
		name      string
		value     string
		wantNoIP  bool
		wantBy    string
		wantError bool
	}{
		{"local submission", "by forwarder.example.net with local (Exim 4.96) (envelope-from <a@example.net>) id 1uM-0005; Tue, 03 Jun 2025 10:00:00 +0000", false, "forwarder.example.net", true},
		{"Exim local from user", "from alice by forwarder.example.net with local (Exim 4.96) id 1uM-0006; Tue, 03 Jun 2025 10:00:00 +0000", true, "forwarder.example.net", true},
		{"empty", "", false, "", true},
		{"garbage", "((([[[", false, "", true},
		{"bracket not an IP", "from x ([not.an.ip]) by y", true, "y", true},
		{"scoped IPv6 refused", "from x ([fe80::1%eth0]) by y", true, "y", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Parse(tt.value)
			if (err != nil) != tt.wantError {
				t.Fatalf("err = %v", err)
			}
			if errors.Is(err, ErrNoIP) != tt.wantNoIP {
				t.Errorf("ErrNoIP = %v, want %v (%v)", errors.Is(err, ErrNoIP), tt.wantNoIP, err)
			}
			if h.By != tt.wantBy {
				t.Errorf("By = %q, want %q", h.By, tt.wantBy)
			}
			if h.IP.IsValid() {
				t.Errorf("IP = %v, want none", h.IP)
			}
		})
	}
}

func FuzzParseReceived(f *testing.F) {
	for _, s := range []string{
		"from mail.example.com (mail.example.com [203.0.113.7]) by mx.example.org (Postfix) with ESMTPS id 4X for <u@example.org>; Tue,  3 Jun 2025 10:00:00 +0000 (UTC)",
		"from host7.isp.example ([203.0.113.7] helo=mail.example.com) by fwd.example.net with esmtps (TLS1.3) (Exim 4.96) id 1u-0; Tue, 03 Jun 2025 10:00:00 +0000",
		"from [2001:db8::25]:25 (helo=x) by y with esmtp",
		"from a (b [IPv6:2001:db8::1] (may be forged)) by c; Tue, 3 Jun 2025 10:00:00 GMT",
		"from unknown (HELO x) (203.0.113.7) by y with SMTP; 3 Jun 2025 10:00:00 -0000",
		"from (((( by ;;; ))) [",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := Parse(s)
		if err == nil && !h.IP.IsValid() {
			t.Fatalf("no error but no IP for %q", s)
		}
		if h.IP.IsValid() && (h.IP.Is4In6() || h.IP.Zone() != "") {
			t.Fatalf("IP %v not unmapped or has a zone", h.IP)
		}
		h2, err2 := Parse(s)
		sameTime := h2.Time.Equal(h.Time)
		h.Time, h2.Time = time.Time{}, time.Time{}
		if h2 != h || !sameTime || (err == nil) != (err2 == nil) {
			t.Fatalf("Parse is not deterministic on %q", s)
		}
	})
}
