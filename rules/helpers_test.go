package rules

import (
	"strings"

	"relayguard/rules/message"
)

// parse reads a test message written with LF line ends.
func parse(raw string) *message.Message {
	return message.ParseMessage(strings.NewReader(raw), int64(len(raw)))
}

// hitNames lists the names of the rules that fired.
func hitNames(hits map[string]Hit) []string {
	var out []string
	for n := range hits {
		out = append(out, n)
	}
	return out
}
