package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Environment a developer or CI sets for the browser test.
const (
	// envArtifacts is a folder for test artefacts (screenshots); without
	// it they go under the run's directory (kept with RELAYGUARD_IT_KEEP).
	envArtifacts = "RELAYGUARD_ARTIFACTS"
	// envDocsImages asks the browser test to write the README's console
	// screenshots to docs/img/.
	envDocsImages = "RELAYGUARD_DOCS_IMAGES"
)

// TestConsoleInABrowser: a real swaks sends GTUBE through the real binary
// with the console on; headless Chromium (the Chrome DevTools Protocol,
// via chromedp) logs in, searches the reference the 554 reply gave, opens
// the message, and trains it as spam. Each step checks the page's text.
func TestConsoleInABrowser(t *testing.T) {
	needHarness(t)
	chromium := lookPath("chromium", "chromium-browser")
	if chromium == "" {
		missingTool(t, "chromium not installed (Debian package chromium)")
	}
	t.Parallel()
	consoleAddr := loopback(freePort(t))
	users := usersFile(t, testDir(t, "users"), map[string]string{"operator": "console-pass"})
	_, rg := inboundPair(t, func(c rgConfig) {
		c.set("console", "listen", consoleAddr).set("console", "users_file", users).
			set("classifier", "enabled", true).
			// The classifier is untrained: keep every message's tokens.
			set("console", "tokens", "always")
	})
	waitFor(t, startTimeout, "the console to listen", func() bool { return strings.Contains(rg.Log(), "console listening") })

	tr := runSwaks(t, rg.Addr, "--from", "spammer@client.test", "--to", "alice@example.com",
		"--data", messageFile(t, "spammer@client.test", "alice@example.com", "You won", "Claim now.\n"+gtube+"\n"))
	tr.exit(t, swaksDotRefused)
	m := referenceRE.FindStringSubmatch(strings.Join(tr.dataReply(), "\n"))
	if m == nil {
		t.Fatalf("the 554 reply gives no reference: %q", tr.dataReply())
	}
	ref := m[1]

	shots := artifactDir(t)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		// The integration tests run as root (private namespaces need it),
		// and Chromium refuses to run as root inside its own sandbox.
		chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(filepath.Join(testDir(t, "chromium"), "profile")),
	)...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	base := "http://" + consoleAddr
	text := func(step string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		if err != nil {
			t.Fatalf("%s: reading the page: %v", step, err)
		}
		return s
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		writeFile(t, shots, name, string(png), 0o644)
		if os.Getenv(envDocsImages) != "" && (name == "console-search.png" || name == "console-detail.png" || name == "console-bounce.png") {
			if err := os.WriteFile(filepath.Join("..", "docs", "img", name), png, 0o644); err != nil {
				t.Errorf("docs image %s: %v", name, err)
			}
		}
	}
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			shot("failed-" + name + ".png")
			t.Fatalf("%s: %v\npage: %s", name, err, text(name))
		}
	}
	want := func(stepName string, page string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(page, w) {
				shot("failed-" + stepName + ".png")
				t.Fatalf("%s: the page lacks %q:\n%s", stepName, w, page)
			}
		}
	}

	// Without a session every page leads to the login form.
	step("open", chromedp.Navigate(base+"/history"), chromedp.WaitVisible(chromedp.CSS("form.login")))
	want("open", text("open"), "Log in")

	step("wrong password",
		chromedp.SendKeys(chromedp.CSS("input[name=user]"), "operator"),
		chromedp.SendKeys(chromedp.CSS("input[name=password]"), "guess"),
		chromedp.Click(chromedp.CSS("form.login button")),
		chromedp.WaitVisible(chromedp.CSS("p.error")))
	want("wrong password", text("wrong password"), "Wrong user or password")

	step("login",
		chromedp.SendKeys(chromedp.CSS("input[name=user]"), "operator"),
		chromedp.SendKeys(chromedp.CSS("input[name=password]"), "console-pass"),
		chromedp.Click(chromedp.CSS("form.login button")),
		chromedp.WaitVisible(chromedp.CSS("form.search")))
	want("login", text("login"), "History", "operator")

	// The record is written off the mail path: it may take a moment.
	deadline := time.Now().Add(deliverTimeout)
	for {
		step("search",
			chromedp.SetValue(chromedp.CSS("input[name=ref]"), ref),
			chromedp.Click(chromedp.CSS("form.search button")),
			chromedp.WaitVisible(chromedp.CSS("form.search")))
		if page := text("search"); strings.Contains(page, ref) || time.Now().After(deadline) {
			want("search", page, ref, "spammer@client.test", "alice@example.com", "reject", "GTUBE")
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	shot("console-search.png")

	step("detail", chromedp.Click(chromedp.CSS("a[href='/message/"+ref+".1']")), chromedp.WaitVisible(chromedp.CSS("form.train")))
	want("detail", text("detail"),
		"What the sender was told", "554 5.7.1", "Reference "+ref,
		"GTUBE", "GTUBE test string", // the symbol and its description
		"What would have changed the verdict", "above reject",
		"Not learned yet")
	shot("console-detail.png")

	step("train", chromedp.Click(chromedp.CSS("button[value=spam]")), chromedp.WaitVisible(chromedp.CSS("p.trained")))
	want("train", text("train"), "Learned as spam: learned.", "Learned as spam.")
	shot("console-trained.png")

	// The live view counts the message and names its sender.
	step("live", chromedp.Navigate(base+"/live"), chromedp.WaitVisible(chromedp.CSS("table.minutes")))
	want("live", text("live"), "1 messages in the last hour", "GTUBE", "spammer@client.test")

	// A bounce quoted in the seed's thread, pasted and explained.
	seed, err := os.ReadFile(filepath.Join("..", "internal", "bounce", "testdata", "samples", "seed-ivmuri.txt"))
	if err != nil {
		t.Fatal(err)
	}
	step("bounce form", chromedp.Navigate(base+"/bounce"), chromedp.WaitVisible(chromedp.CSS("form.bounce")))
	step("bounce",
		chromedp.SetValue(chromedp.CSS("textarea[name=bounce]"), string(seed)),
		chromedp.Click(chromedp.CSS("form.bounce button")),
		chromedp.WaitVisible(chromedp.CSS("section.failure")))
	want("bounce", text("bounce"), "mx2.supremebox.com", "blacklisted at ivmURI", "invaluement",
		"https://www.invaluement.com/lookup/", "What to do")
	shot("console-bounce.png")
	t.Logf("screenshots in %s", shots)
}

// artifactDir is where a test keeps its artefacts: $RELAYGUARD_ARTIFACTS/
// <test name>, or a folder of the run's (kept with RELAYGUARD_IT_KEEP).
func artifactDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv(envArtifacts)
	if root == "" {
		return testDir(t, "artifacts")
	}
	dir := filepath.Join(root, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(fmt.Errorf("artefacts: %w", err))
	}
	return dir
}
