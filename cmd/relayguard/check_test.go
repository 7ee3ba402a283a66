package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"relayguard/scoring"
)

// withStdin runs f with os.Stdin reading text.
func withStdin(t *testing.T, text string, f func()) {
	t.Helper()
	saved := os.Stdin
	os.Stdin = stdinFrom(t, text)
	defer func() { os.Stdin = saved }()
	f()
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCheckReadsStdin: "-" and /dev/stdin are the message on standard
// input, as for spamassassin; both used to print nothing and exit 0.
func TestCheckReadsStdin(t *testing.T) {
	gtube := readTestdata(t, "gtube.eml")
	for _, arg := range []string{"-", "/dev/stdin"} {
		t.Run(arg, func(t *testing.T) {
			var code int
			var out, errOut string
			withStdin(t, gtube, func() { code, out, errOut = runCmd("check", "--json", "--local", arg) })
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var r checkJSON
			if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &r); err != nil {
				t.Fatalf("want one JSON line, got %q (stderr %q)", out, errOut)
			}
			if r.Action != scoring.ActionReject || r.File != arg {
				t.Errorf("got file %q action %q, want %q reject", r.File, r.Action, arg)
			}
		})
	}
}

// TestCheckFollowsSymlinks: a symlink to a message or to a folder is
// scored like its target (it was skipped without a word), and a loop of
// folder links ends.
func TestCheckFollowsSymlinks(t *testing.T) {
	abs, _ := filepath.Abs("testdata")
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(filepath.Join(abs, "gtube.eml"), filepath.Join(dir, "link.eml")))
	must(os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	must(os.Symlink(abs, filepath.Join(dir, "sub", "corpus")))
	must(os.Symlink(dir, filepath.Join(dir, "sub", "loop"))) // back to the top

	for _, tc := range []struct {
		name string
		arg  string
		want []string // files scored, in order
	}{
		{"link to a file", filepath.Join(dir, "link.eml"), []string{"link.eml"}},
		{"folder with links and a loop", dir, []string{"link.eml", "gtube.eml", "ham.eml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd("check", "--json", "--local", tc.arg)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				var r checkJSON
				if err := json.Unmarshal([]byte(l), &r); err != nil {
					t.Fatalf("not JSON: %q", l)
				}
				got = append(got, filepath.Base(r.File))
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("scored %v, want %v\nstderr %s", got, tc.want, errOut)
			}
		})
	}
}

// TestCheckExitStatus: an unreadable argument is named on stderr and the
// exit status says so; --exit-code tells ham from spam like spamassassin -e.
func TestCheckExitStatus(t *testing.T) {
	dir := t.TempDir()
	dangling := filepath.Join(dir, "dangling.eml")
	os.Symlink(filepath.Join(dir, "gone.eml"), dangling)
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"ham, verdict ignored", []string{"testdata/ham.eml"}, 0, ""},
		{"spam, verdict ignored", []string{"testdata/gtube.eml"}, 0, ""},
		{"missing file", []string{"testdata/ham.eml", "testdata/missing.eml"}, 1, "testdata/missing.eml: does not exist"},
		{"dangling symlink", []string{dangling}, 1, dangling + ": does not exist"},
		{"--exit-code ham", []string{"--exit-code", "testdata/ham.eml"}, 0, ""},
		{"--exit-code spam", []string{"--exit-code", "testdata/ham.eml", "testdata/gtube.eml"}, 1, ""},
		{"--exit-code error wins", []string{"--exit-code", "testdata/gtube.eml", "testdata/missing.eml"}, 2, "missing.eml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCmd(append([]string{"check", "--local"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.inStderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, tc.code, tc.inStderr)
			}
		})
	}
}

// TestCheckJSONRoundsScores: 0.1+0.2 style float noise does not reach the
// JSON (2.3000000000000003 for 2.3); scores keep 2 decimals.
func TestCheckJSONRoundsScores(t *testing.T) {
	// Variables, not constants: Go folds constant arithmetic exactly.
	x1, x2, y1, y2 := 0.1, 0.2, 1.1, 2.2
	v := &scoring.Verdict{
		Score:  x1 + x2 + 2,
		Action: scoring.ActionAccept,
		Symbols: []scoring.Symbol{
			{Name: "A", Score: y1 + y2, Detail: "d"},
			{Name: "B", Score: -0.125},
			{Name: "C", Score: 1000},
		},
	}
	var b strings.Builder
	writeJSON(&b, "m.eml", v)
	want := `{"file":"m.eml","score":2.3,"action":"accept","symbols":[{"name":"A","score":3.3,"detail":"d"},{"name":"B","score":-0.13},{"name":"C","score":1000}]}` + "\n"
	if b.String() != want {
		t.Errorf("got  %s\nwant %s", b.String(), want)
	}
}
