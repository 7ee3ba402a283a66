//go:build linux

package integration

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// The connect-phase sender checks leave loopback and private clients
// alone, so a test of a listed client must connect from a public-looking
// address. clientAddr puts one on the loopback interface of the tests'
// private network namespace (it exists nowhere else and goes away with the
// namespace); swaks then binds to it (--local-interface) and relayguard
// sees the connection come from it.

// docRanges are the only addresses the tests put on an interface: the
// documentation ranges (RFC 5737, RFC 3849), never routed anywhere.
var docRanges = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
}

var (
	clientAddrsMu sync.Mutex
	clientAddrs   = map[netip.Addr]bool{}
)

// clientAddr adds ip to lo (once per run) and returns it as swaks'
// --local-interface takes it.
func clientAddr(t *testing.T, ip string) string {
	t.Helper()
	a := netip.MustParseAddr(ip)
	inDoc := false
	for _, p := range docRanges {
		inDoc = inDoc || p.Contains(a)
	}
	if !inDoc {
		t.Fatalf("clientAddr %s: only documentation addresses may be put on an interface", ip)
	}
	if os.Getenv(envChild) != "1" {
		t.Fatalf("clientAddr %s: not inside the tests' private network namespace", ip)
	}
	clientAddrsMu.Lock()
	defer clientAddrsMu.Unlock()
	if !clientAddrs[a] {
		if err := addLoopbackAddr(a); err != nil {
			t.Fatalf("adding %s to lo: %v", a, err)
		}
		clientAddrs[a] = true
	}
	return a.String()
}

// addLoopbackAddr is `ip addr add IP/32 dev lo` (/128 nodad for IPv6) over
// rtnetlink.
func addLoopbackAddr(a netip.Addr) error {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}

	family, bits, flags := unix.AF_INET, 32, 0
	if a.Is6() {
		family, bits, flags = unix.AF_INET6, 128, unix.IFA_F_NODAD
	}
	raw := a.AsSlice()
	// struct ifaddrmsg, then IFA_LOCAL and IFA_ADDRESS attributes.
	body := []byte{byte(family), byte(bits), byte(flags), unix.RT_SCOPE_UNIVERSE, 0, 0, 0, 0}
	binary.NativeEndian.PutUint32(body[4:], uint32(lo.Index))
	for _, typ := range []uint16{unix.IFA_LOCAL, unix.IFA_ADDRESS} {
		attr := make([]byte, unix.SizeofRtAttr, unix.SizeofRtAttr+len(raw))
		binary.NativeEndian.PutUint16(attr[0:], uint16(unix.SizeofRtAttr+len(raw)))
		binary.NativeEndian.PutUint16(attr[2:], typ)
		attr = append(attr, raw...)
		for len(attr)%4 != 0 {
			attr = append(attr, 0)
		}
		body = append(body, attr...)
	}
	msg := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	binary.NativeEndian.PutUint32(msg[0:], uint32(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], unix.RTM_NEWADDR)
	binary.NativeEndian.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_REPLACE)
	binary.NativeEndian.PutUint32(msg[8:], 1) // sequence number
	msg = append(msg, body...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}

	// The kernel acknowledges with an NLMSG_ERROR message; error 0 is
	// success.
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	if n < unix.SizeofNlMsghdr+4 || binary.NativeEndian.Uint16(buf[4:]) != unix.NLMSG_ERROR {
		return fmt.Errorf("unexpected netlink reply (%d bytes)", n)
	}
	if errno := int32(binary.NativeEndian.Uint32(buf[unix.SizeofNlMsghdr:])); errno != 0 {
		return unix.Errno(-errno)
	}
	return nil
}
