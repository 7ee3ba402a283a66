package auth

import (
	"context"
	"errors"
	"net"

	"relayguard/scoring/dns"
)

// lookups adapts dns.Resolver to what the SPF, DKIM and DMARC libraries
// expect of errors. All three classify errors with type assertions on the
// error itself (err.(*net.DNSError), err.(net.Error)), not errors.As, so a
// wrapped "not found" would read as a permanent error and a plain timeout
// or a cancelled context as a permanent one too: SPF would answer permerror
// where RFC 7208 §4.4 wants temperror. So every error is rebuilt here as a
// bare *net.DNSError: IsNotFound for NXDOMAIN/NODATA, IsTemporary for
// anything else that kept the answer from us.
type lookups struct {
	r dns.Resolver
}

func (l lookups) LookupTXT(ctx context.Context, name string) ([]string, error) {
	txt, err := l.r.LookupTXT(ctx, name)
	return txt, dnsError(name, err)
}

func (l lookups) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	mx, err := l.r.LookupMX(ctx, name)
	return mx, dnsError(name, err)
}

func (l lookups) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	ips, err := l.r.LookupIPAddr(ctx, host)
	return ips, dnsError(host, err)
}

func (l lookups) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	names, err := l.r.LookupAddr(ctx, addr)
	return names, dnsError(addr, err)
}

// txtFunc binds LookupTXT to ctx for the go-msgauth libraries, whose
// lookup hooks take no context.
func (l lookups) txtFunc(ctx context.Context) func(string) ([]string, error) {
	return func(name string) ([]string, error) { return l.LookupTXT(ctx, name) }
}

// dnsError normalises err as the type description of lookups says.
func dnsError(name string, err error) error {
	if err == nil {
		return nil
	}
	if isNotFound(err) {
		return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return &net.DNSError{
		Err:         err.Error(),
		Name:        name,
		IsTimeout:   errors.Is(err, context.DeadlineExceeded),
		IsTemporary: true,
	}
}

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}
