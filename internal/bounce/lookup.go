package bounce

// Lookup is one blocklist's answer, asked now, about an IP a bounce
// named or one of our egress IPs (the caller asks; this package has no
// DNS).
type Lookup struct {
	List string `json:"list"` // the list the bounce named
	IP   string `json:"ip"`
	// Role is "named in the bounce" or "egress IP".
	Role   string   `json:"role"`
	Zone   string   `json:"zone"`
	Listed bool     `json:"listed"`
	Codes  []string `json:"codes,omitempty"`
	TXT    string   `json:"txt,omitempty"`
	// Configured is false when the zone is the list's public one, not a
	// [[dnsbl]] of the configuration.
	Configured bool   `json:"configured"`
	Error      string `json:"error,omitempty"`
	// Skipped says why nothing was asked about this list (then IP and
	// Zone are empty).
	Skipped string `json:"skipped,omitempty"`
}
