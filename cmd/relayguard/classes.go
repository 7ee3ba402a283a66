package main

import (
	"relayguard/config"
	"relayguard/scoring"
	"relayguard/scoring/classes"
)

// classifierOf builds the recipients' policy classes ([[policy]] and
// [forwarding], reading forwarding.aliases_file), for the engine; nil when
// every recipient is in the default class. Built with the engine, so
// SIGHUP reads the aliases file again.
func classifierOf(c *config.Config) (func(string) (string, scoring.Policy), error) {
	def := policyOf(c)
	withScoring := func(s config.Scoring) scoring.Policy {
		p := def
		p.Reject, p.AddHeader = s.Reject, s.AddHeader
		p.Mode, p.Explain = scoring.Mode(s.Mode), scoring.Explain(s.Explain)
		return p
	}
	o := classes.Options{Default: def, AliasesFile: c.Forwarding.AliasesFile, LocalDomains: c.Access.LocalDomains}
	for _, pc := range c.Policy {
		o.Classes = append(o.Classes, classes.Class{Name: pc.Name, Recipients: pc.Recipients, Policy: withScoring(c.ClassPolicy(pc))})
	}
	f := c.Forwarding
	o.Forwarding = classes.Class{Recipients: f.Recipients, Policy: withScoring(config.Scoring{
		Reject: f.Reject, AddHeader: f.AddHeader, Mode: f.Mode, Explain: f.Explain})}
	t, err := classes.New(o)
	if err != nil || t.Empty() {
		return nil, err
	}
	return t.Lookup, nil
}
