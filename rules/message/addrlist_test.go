package message

import (
	"net/mail"
	"strings"
	"sync"
	"testing"

	gomail "github.com/emersion/go-message/mail"
)

var plainAddressSeeds = []string{
	"alice@example.com",
	"Alice <alice@example.com>",
	"Alice Smith <Alice.Smith@Example.COM>, bob@example.org",
	`"Smith, Alice" <alice@example.com>`,
	`"" <a@b.c>`,
	"  Alice   Smith\t<a@b.c>  ,  ",
	"<a@b.c>",
	"a@b.c,",
	"a@b.c,,d@e.f",
	",a@b.c",
	"",
	" ",
	"a@b.c <d@e.f>",
	`"john"@example.com`,
	"Dr. J. R. R. Tolkien <jrr@example.org>",
	"a.@b.c",
	"a..b@c.d",
	"a@b..c",
	".a <a@b.c>",
	"a@ b.c",
	"< a@b.c>",
	"<a@b.c >",
	"Name <a@b.c",
	"Name",
	"foo.bar",
	"x y z a b c d e f <a@b.c>",
	"a\"b\"c <a@b.c>",
	`a "b c"  d <x@y.z>`,
	"a@b.c (Alice)",
	"=?utf-8?q?J=C3=BCrgen?= <j@example.de>",
	"Jürgen <j@example.de>",
	"undisclosed-recipients:;",
	"a@[127.0.0.1]",
	`"a\"b" <a@b.c>`,
	"Name <a@b.c>x",
	"Name <a@b.c>, ",
	"a@b",
	"@b.c",
	"a@",
	"=? <a@b.c>",
	"a=b <a=b@c.d>",
	" 0@",
}

// FuzzPlainAddresses holds the fast path to net/mail: where it answers,
// net/mail (ours and go-message's) accepts the list with the same names
// and addresses in the same order.
func FuzzPlainAddresses(f *testing.F) {
	for _, s := range plainAddressSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, ok := appendPlainAddresses(nil, v)
		if !ok {
			return
		}
		want, err := addrParser.ParseList(v)
		if err != nil {
			t.Fatalf("%q: fast path %q, net/mail: %v", v, got, err)
		}
		samePlainAddresses(t, v, got, want)
		gm, err := gomail.ParseAddressList(v)
		if err != nil {
			t.Fatalf("%q: fast path %q, go-message: %v", v, got, err)
		}
		samePlainAddresses(t, v, got, gm)
	})
}

func samePlainAddresses(t *testing.T, v string, got []Address, want []*mail.Address) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%q: fast path %q, net/mail %d addresses", v, got, len(want))
	}
	for i, a := range want {
		if got[i].Name != a.Name || got[i].Addr != a.Address {
			t.Fatalf("%q: address %d: fast path %q %q, net/mail %q %q", v, i, got[i].Name, got[i].Addr, a.Name, a.Address)
		}
	}
}

// TestPlainAddressesTakeTheCommonForms keeps the fast path from turning
// into a pass-through: the forms real mail carries are answered by it,
// and the rest are left to net/mail.
func TestPlainAddressesTakeTheCommonForms(t *testing.T) {
	tests := []struct {
		list  string
		plain bool
		want  string // names and addresses, "name|addr;..."
	}{
		{"alice@example.com", true, "|alice@example.com"},
		{"Alice <alice@example.com>", true, "Alice|alice@example.com"},
		{"Alice  Smith <Alice@Example.com>, bob@example.org,", true, "Alice Smith|Alice@Example.com;|bob@example.org"},
		{`"Smith, Alice" <alice@example.com>`, true, "Smith, Alice|alice@example.com"},
		{`Alice "the" Smith <a@b.c>`, true, "Alice the Smith|a@b.c"},
		{"<a@b.c>", true, "|a@b.c"},
		{"a@b.c (Alice)", false, ""},
		{"=?utf-8?q?J=C3=BCrgen?= <j@example.de>", false, ""},
		{"Jürgen <j@example.de>", false, ""},
		{"undisclosed-recipients:;", false, ""},
		{`"john"@example.com`, false, ""},
		{"Name <a@b.c", false, ""},
		{"", false, ""},
	}
	for _, tc := range tests {
		got, ok := appendPlainAddresses(nil, tc.list)
		var s []string
		for _, a := range got {
			s = append(s, a.Name+"|"+a.Addr)
		}
		if ok != tc.plain || strings.Join(s, ";") != tc.want {
			t.Errorf("%q: plain=%v %q; want plain=%v %q", tc.list, ok, strings.Join(s, ";"), tc.plain, tc.want)
		}
	}
}

// TestHeaderAddressesPlainAsNetMail compares the memoised header parse,
// fast path and all, with the net/mail wrapper it replaced.
func TestHeaderAddressesPlainAsNetMail(t *testing.T) {
	for _, v := range plainAddressSeeds {
		raw := "To: " + v + "\r\nSubject: x\r\n\r\nbody\r\n"
		m := ParseMessage(strings.NewReader(raw), int64(len(raw)))
		got := m.HeaderAddresses("To")
		want := parseAddressesNetMail(m.Header.Values("To"))
		if len(got) != len(want) {
			t.Errorf("%q: %q, want %q", v, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%q: %q, want %q", v, got, want)
				break
			}
		}
	}
}

// parseAddressesNetMail is parseAddresses before the fast path: every
// list through net/mail (and looseAddresses when net/mail refuses it).
func parseAddressesNetMail(values []string) []Address {
	var out []Address
	for _, v := range values {
		out = appendParsedAddresses(out, v)
	}
	return out
}

// BenchmarkHeaderAddresses parses three plain lists (To, Cc, From of the
// 5 KB message's kind) with the fast path and with net/mail alone.
func BenchmarkHeaderAddresses(b *testing.B) {
	lists := []string{
		"Alice Smith <alice.smith@example.com>",
		"bob@example.org, Carol <carol@example.net>",
		`"Dave, the builder" <dave@example.com>`,
	}
	for _, bc := range []struct {
		name  string
		parse func([]string) []Address
	}{{"plain", parseAddressesValues}, {"netmail", parseAddressesNetMail}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				bc.parse(lists)
			}
		})
	}
}

// TestHeaderAddressesParsedOncePerName: concurrent checks asking for the
// same header share one parse, different names get their own, and a
// caller's append does not reach the shared list.
func TestHeaderAddressesParsedOncePerName(t *testing.T) {
	raw := "From: a@example.com\r\nTo: B <b@example.org>, c@example.net, g@example.net\r\nCc: d@example.com\r\nReply-To: e@example.com\r\nSender: f@example.com\r\n\r\nbody\r\n"
	m := ParseMessage(strings.NewReader(raw), int64(len(raw)))
	names := []string{"From", "To", "Cc", "Reply-To", "Sender"}
	got := make([][][]Address, 8)
	var wg sync.WaitGroup
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, n := range names {
				got[g] = append(got[g], m.HeaderAddresses(n))
			}
		}()
	}
	wg.Wait()
	want := []string{"a@example.com", "b@example.org", "d@example.com", "e@example.com", "f@example.com"}
	for g := range got {
		for i, as := range got[g] {
			if len(as) == 0 || as[0].Addr != want[i] || &as[0] != &got[0][i][0] {
				t.Fatalf("goroutine %d, %s: %v, not the one shared parse of %s", g, names[i], as, want[i])
			}
		}
	}
	x := append(m.HeaderAddresses("To"), Address{Addr: "x@example.com"})
	y := append(m.HeaderAddresses("To"), Address{Addr: "y@example.com"})
	if x[3].Addr != "x@example.com" || y[3].Addr != "y@example.com" {
		t.Fatalf("two callers' appends to To share an array: %v, %v", x, y)
	}
}

// BenchmarkParseFrom is the relay path's read of From (DMARC, URIBL),
// and the same through go-message's parser alone, as before the fast path.
func BenchmarkParseFrom(b *testing.B) {
	values := []string{`"Northwind Outfitters" <orders@northwind-outfitters.example>`}
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			parseFrom(values)
		}
	})
	b.Run("gomessage", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			f := &From{Fields: len(values)}
			addrs, _ := gomail.ParseAddressList(values[0])
			for _, a := range addrs {
				f.addAddress(a.Address)
			}
		}
	})
}
