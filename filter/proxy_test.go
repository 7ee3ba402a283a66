package filter

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"strings"
	"testing"

	proxyproto "github.com/pires/go-proxyproto"

	"relayguard/scoring"
)

// sendProxyHeader writes a PROXY header (the library's encoder) naming
// client as the connection's source.
func sendProxyHeader(t *testing.T, conn net.Conn, version byte, client string) {
	t.Helper()
	src := &net.TCPAddr{IP: net.ParseIP(client), Port: 40000}
	dst := conn.RemoteAddr()
	h := proxyproto.HeaderProxyFromAddrs(version, src, dst)
	if _, err := h.WriteTo(conn); err != nil {
		t.Fatal(err)
	}
}

func proxyOptions(from string) Options {
	o := defaultTestOptions()
	o.ProxyFrom = []netip.Prefix{netip.MustParsePrefix(from)}
	return o
}

// TestProxyHeaderNamesTheClient: behind a listed balancer, the message is
// judged and stamped with the address the header names.
func TestProxyHeaderNamesTheClient(t *testing.T) {
	for _, version := range []byte{1, 2} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			ts := startServer(t, proxyOptions("127.0.0.0/8"), scoring.DefaultPolicy(), nil)
			conn := dialTest(t, ts.addr)
			sendProxyHeader(t, conn, version, "203.0.113.7")
			c := &client{t: t, conn: conn, tp: textproto.NewConn(conn)}
			c.hello()
			c.envelope("a@example.org", "user@local.example")
			c.sendMessage(ham)
			c.expect(250, "queued")
			got := ts.up.messages()
			if len(got) != 1 {
				t.Fatalf("%d messages upstream, want 1", len(got))
			}
			received := got[0].data[:strings.Index(got[0].data, "\r\n\r\n")]
			if !strings.Contains(received, "[203.0.113.7]") || strings.Contains(received, "127.0.0.1") {
				t.Errorf("header names the balancer, not the client:\n%s", received)
			}
		})
	}
}

// TestProxyHeaderRefusedOutsideTheList: a header from an address that is
// not a listed balancer gets 554 5.7.1 and the connection ends; nothing is
// relayed. Plain SMTP from there is served as usual.
func TestProxyHeaderRefusedOutsideTheList(t *testing.T) {
	for _, version := range []byte{1, 2} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			ts := startServer(t, proxyOptions("192.0.2.0/24"), scoring.DefaultPolicy(), nil)
			conn := dialTest(t, ts.addr)
			sendProxyHeader(t, conn, version, "192.0.2.9")
			r := bufio.NewReader(conn)
			greeting, _ := r.ReadString('\n')
			if !strings.HasPrefix(greeting, "220 ") {
				t.Fatalf("greeting %q", greeting)
			}
			reply, _ := r.ReadString('\n')
			if !strings.HasPrefix(reply, "554 5.7.1 PROXY") {
				t.Fatalf("reply to the header %q, want 554 5.7.1", reply)
			}
			if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
				t.Errorf("after the refusal: %q, %v; want the connection closed", rest, err)
			}
		})
	}
	t.Run("plain SMTP", func(t *testing.T) {
		ts := startServer(t, proxyOptions("192.0.2.0/24"), scoring.DefaultPolicy(), nil)
		c := dial(t, ts.addr)
		c.hello()
		c.envelope("a@example.org", "user@local.example")
		c.sendMessage(ham)
		c.expect(250, "queued")
	})
}

// TestProxyListedPeerWithoutHeaderClosed: a connection from the balancers'
// network without a header is not taken at face value: it is closed
// before any greeting.
func TestProxyListedPeerWithoutHeaderClosed(t *testing.T) {
	ts := startServer(t, proxyOptions("127.0.0.0/8"), scoring.DefaultPolicy(), nil)
	conn := dialTest(t, ts.addr)
	io.WriteString(conn, "EHLO client.example\r\n")
	got, err := io.ReadAll(conn)
	if err != nil || len(got) != 0 {
		t.Errorf("read %q, %v; want the connection closed without a word", got, err)
	}
	if n := len(ts.up.messages()); n != 0 {
		t.Errorf("%d messages relayed", n)
	}
}

// TestProxyPerIPLimitCountsTheClient: max_connections_per_ip counts the
// clients behind the balancer, not the balancer.
func TestProxyPerIPLimitCountsTheClient(t *testing.T) {
	o := proxyOptions("127.0.0.0/8")
	o.MaxConnectionsPerIP = 1
	ts := startServer(t, o, scoring.DefaultPolicy(), nil)
	greet := func(client string) string {
		conn := dialTest(t, ts.addr)
		sendProxyHeader(t, conn, 2, client)
		line, _ := bufio.NewReader(conn).ReadString('\n')
		return line
	}
	for _, step := range []struct{ client, want string }{
		{"203.0.113.7", "220 "},
		{"203.0.113.8", "220 "}, // another client through the same balancer
		{"203.0.113.7", "421 4.7.0"},
	} {
		if got := greet(step.client); !strings.HasPrefix(got, step.want) {
			t.Errorf("%s greeted %q, want %q", step.client, got, step.want)
		}
	}
}
