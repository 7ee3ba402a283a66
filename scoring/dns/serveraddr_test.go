package dns

import "testing"

// TestServerAddrAddsPort53: a bare IP means port 53 (RFC 1035 §4.2); a
// host name is refused (resolving the resolver would need a resolver).
func TestServerAddrAddsPort53(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{"192.0.2.53", "192.0.2.53:53", false},
		{"192.0.2.53:5353", "192.0.2.53:5353", false},
		{"2001:db8::53", "[2001:db8::53]:53", false},
		{"[2001:db8::53]", "[2001:db8::53]:53", false},
		{"[2001:db8::53]:5353", "[2001:db8::53]:5353", false},
		{"dns.example", "", true},
		{"dns.example:53", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		got, err := ServerAddr(tt.in)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("ServerAddr(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}
