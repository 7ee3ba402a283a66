//go:build !linux

package integration

import "testing"

// clientAddr needs Linux's network namespaces (sender_netns_linux_test.go);
// elsewhere the harness skips every test before it gets here.
func clientAddr(t *testing.T, ip string) string {
	t.Helper()
	t.Fatal("clientAddr needs Linux")
	return ""
}
