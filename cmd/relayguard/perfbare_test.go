//go:build perfbare

package main

import (
	"context"
	"slices"
	"testing"

	"relayguard/scoring"
)

type namedCheck string

func (c namedCheck) Name() string                                     { return string(c) }
func (namedCheck) Phase() scoring.Phase                               { return scoring.PhaseData }
func (namedCheck) Run(context.Context, *scoring.Input) scoring.Result { return scoring.Result{} }

// scripts/perf.sh's "no checks" rows are only what they say if the
// perfbare build keeps exactly the checks it is told to keep.
func TestPerfbareKeepsOnlyNamedChecks(t *testing.T) {
	all := []scoring.Check{namedCheck("gtube"), namedCheck("content"), namedCheck("uribl"), namedCheck("dkim")}
	for _, tc := range []struct {
		env  string
		want []string
	}{
		{"", nil},
		{"content", []string{"content"}},
		{"uribl,content", []string{"content", "uribl"}},
		{"cont", nil},
	} {
		t.Setenv("RELAYGUARD_PERF_CHECKS", tc.env)
		var got []string
		for _, ch := range trimChecks(all) {
			got = append(got, ch.Name())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("RELAYGUARD_PERF_CHECKS=%q: checks %v, want %v", tc.env, got, tc.want)
		}
	}
}
