package filter

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"relayguard/internal/access"
	"relayguard/internal/cputime"
	"relayguard/scoring"
)

// BenchmarkRelayMessage measures one 5 KB message through the front door
// (SMTP parsing, spool, verdict with GTUBE, headers, relay) to an
// in-process upstream over one reused connection: the proxy's own cost per
// message, without the network checks.
func BenchmarkRelayMessage(b *testing.B) {
	b.ReportAllocs()
	up := &fakeUpstream{discard: true}
	ts := startServer(b, defaultTestOptions(), scoring.DefaultPolicy(), up)
	relayLoop(b, ts.addr, up)
}

// relayLoop sends b.N copies of a 5 KB plain-text message to addr over one
// connection and checks that up relayed every one.
func relayLoop(b *testing.B, addr string, up *fakeUpstream) {
	b.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := "Subject: bench\r\nFrom: a@example.org\r\n\r\n" + strings.Repeat("The quick brown fox jumps over the lazy dog.\r\n", 110)
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.SendMail("a@example.org", []string{"user@local.example"}, strings.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	up.mu.Lock()
	defer up.mu.Unlock()
	if up.count != b.N {
		b.Fatalf("%d messages relayed, want %d", up.count, b.N)
	}
}

// BenchmarkRelayPath measures the relay path outside the content scan on
// the 5 KB multipart message smtpload sends: the engine runs only GTUBE,
// and the next hop is a real SMTP sink on loopback reached through
// SMTPUpstream. "direct" is the benchmark client talking to the sink
// itself; the relay path's own cost is "relay" minus "direct" (both run in
// this process, so their allocations and CPU are counted together).
// "reject" is a GTUBE message refused at end of DATA.
func BenchmarkRelayPath(b *testing.B) {
	mime, err := os.ReadFile("../cmd/smtpload/testdata/mime-5k.eml")
	if err != nil {
		b.Fatal(err)
	}
	gtube := append([]byte("Subject: test\r\nFrom: a@example.org\r\n\r\n"+
		"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"), mime[bytes.Index(mime, []byte("\r\n\r\n"))+4:]...)
	sink := &benchSink{}
	sinkAddr := serveSink(b, sink)
	relay := benchFrontDoor(b, sinkAddr)
	for _, tc := range []struct {
		name   string
		addr   string
		msg    []byte
		reject bool
	}{
		{"direct", sinkAddr, mime, false},
		{"relay", relay, mime, false},
		{"reject", relay, gtube, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c, err := smtp.Dial(tc.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if err := c.Hello("bench.example"); err != nil {
				b.Fatal(err)
			}
			before := sink.messages.Load()
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.msg)))
			b.ResetTimer()
			cpu := cputime.Process()
			for i := 0; i < b.N; i++ {
				err := c.SendMail("a@example.org", []string{"user@local.example"}, bytes.NewReader(tc.msg))
				if tc.reject {
					if se, ok := isReply(err); !ok || se.Code != 554 {
						b.Fatalf("GTUBE message: %v, want 554", err)
					}
					continue
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cputime.Process()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
			want := int64(b.N)
			if tc.reject {
				want = 0
			}
			if got := sink.messages.Load() - before; got != want {
				b.Fatalf("%d messages reached the sink, want %d", got, want)
			}
		})
	}
}

// benchFrontDoor starts a front door that judges with GTUBE only and
// relays through SMTPUpstream to upstream.
func benchFrontDoor(b *testing.B, upstream string) string {
	opts := defaultTestOptions()
	opts.SpoolMemoryBytes = 1 << 20 // the default: a 5 KB message stays in memory
	engine, err := scoring.NewEngine(scoring.Options{Policy: scoring.DefaultPolicy(), Timeout: 5 * time.Second, Checks: []scoring.Check{scoring.GTUBE{}}})
	if err != nil {
		b.Fatal(err)
	}
	pol := &Policy{Access: access.New(access.Options{
		RelayNetworks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
		LocalDomains:  []string{"local.example"},
	})}
	up := &SMTPUpstream{Addr: upstream, Hostname: "relayguard.test", TLS: TLSOff, Timeout: 5 * time.Second}
	return serveTest(b, NewServer(opts, pol, nil, engine, up, discardLog()))
}

// benchSink is a next hop that accepts everything and keeps nothing.
type benchSink struct{ messages atomic.Int64 }

func (s *benchSink) NewSession(*smtp.Conn) (smtp.Session, error) { return benchSinkSession{s}, nil }

type benchSinkSession struct{ s *benchSink }

func (benchSinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (benchSinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (benchSinkSession) Reset()                               {}
func (benchSinkSession) Logout() error                        { return nil }
func (ss benchSinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	ss.s.messages.Add(1)
	return nil
}

func serveSink(b *testing.B, s *benchSink) string {
	srv := smtp.NewServer(s)
	srv.Domain = "sink.test"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(l)
	b.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}
