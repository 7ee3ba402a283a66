package rules

import _ "embed"

//go:embed default.toml
var defaultRules []byte

// DefaultRules returns the built-in rule file, as `relayguard rules
// default` prints it: a commented TOML file operators can read and copy
// from. The slice is a copy.
func DefaultRules() []byte { return append([]byte(nil), defaultRules...) }
