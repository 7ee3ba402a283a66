package scoring

import (
	"cmp"
	"slices"
	"strings"
)

// Symbol is one named finding: DNSBL_ZEN 6.0 "203.0.113.7 listed on zen.spamhaus.org".
type Symbol struct {
	Name   string  `json:"name"`
	Score  float64 `json:"score"`
	Detail string  `json:"detail,omitempty"`
}

// sortSymbols orders symbols by weight, heaviest first (the order reasons are
// explained in), then by name so output is stable.
func sortSymbols(s []Symbol) {
	slices.SortStableFunc(s, func(a, b Symbol) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// symbolNames lists the names in the given order.
func symbolNames(s []Symbol) []string {
	names := make([]string, len(s))
	for i, sym := range s {
		names[i] = sym.Name
	}
	return names
}
