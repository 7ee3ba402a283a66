// Package dns is relayguard's one DNS client: every check (SPF, DKIM, DMARC,
// DNSBL, URIBL, rDNS, HELO) resolves through it, so caching, timeouts and
// in-flight sharing apply to all of them.
package dns

import (
	"context"
	"net"
)

// Resolver is what checks need from DNS. The method set is that of
// net.Resolver (and blitiri.com.ar/go/spf's DNSResolver), so the SPF library
// takes it as is. A name that does not exist (NXDOMAIN) or has no record of
// the type asked (NODATA) is reported as a *net.DNSError with IsNotFound
// set, as net.Resolver does; anything else that kept the answer from us
// (timeout, SERVFAIL, refused) is an error with IsNotFound unset.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
	// LookupA returns only IPv4 addresses (A records): DNSBL answers.
	LookupA(ctx context.Context, name string) ([]net.IP, error)
}

// Peeker is implemented by resolvers with a cache (*Client). Its methods
// answer from the cache only, never sending a query: cached is false when
// the answer is not there. A caller with many lookups per message (URIBL)
// asks it first, so answers already known cost no goroutine. A cached
// negative answer is cached with the not-found error.
type Peeker interface {
	PeekA(name string) (ips []net.IP, cached bool, err error)
	PeekTXT(name string) (txt []string, cached bool, err error)
}
