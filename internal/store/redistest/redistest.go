// Package redistest starts a real redis-server on a free loopback port for
// tests (the store's own and the integration tests), with nothing saved to
// disk. A test can stop and restart it on the same port to play an outage.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// EnvDepsInstalled is set by scripts/test.sh once scripts/test-deps.txt is
// installed: a missing redis-server then fails the test instead of
// skipping it.
const EnvDepsInstalled = "RELAYGUARD_TEST_DEPS_INSTALLED"

// Server is a running (or stopped) redis-server.
type Server struct {
	Addr    string // 127.0.0.1:port
	bin     string
	dir     string
	cmd     *exec.Cmd
	t       testing.TB
	cluster bool
}

// URL is the store.redis URL of database db.
func (s *Server) URL(db int) string { return fmt.Sprintf("redis://%s/%d", s.Addr, db) }

// Binary finds redis-server, or skips t (fails it under CI=true or after
// scripts/test.sh installed the list).
func Binary(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-server")
	if err == nil {
		return p
	}
	for _, dir := range []string{"/usr/bin", "/usr/sbin", "/usr/local/bin"} {
		if fi, err := os.Stat(filepath.Join(dir, "redis-server")); err == nil && fi.Mode()&0o111 != 0 {
			return filepath.Join(dir, "redis-server")
		}
	}
	msg := "redis-server not installed (Debian package redis-server)"
	switch ci := strings.ToLower(os.Getenv("CI")); {
	case ci == "true" || ci == "1":
		t.Fatalf("%s (under CI=true)", msg)
	case os.Getenv(EnvDepsInstalled) != "":
		t.Fatalf("%s, though scripts/test.sh installed scripts/test-deps.txt", msg)
	}
	t.Skipf("%s; skipped (set CI=true to fail instead)", msg)
	return ""
}

// Start runs redis-server on a free loopback port until the test ends.
func Start(t testing.TB) *Server { t.Helper(); return start(t, false) }

// StartCluster runs a one-node Redis Cluster holding every slot: the
// Cluster code paths (a script's keys in one slot, pipelines split by
// node, commands on every master) with one process.
func StartCluster(t testing.TB) *Server {
	t.Helper()
	s := start(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatalf("assigning the cluster's slots: %v", err)
	}
	// The node says ok once it has taken the slots.
	for {
		info, err := c.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return s
		}
		if ctx.Err() != nil {
			t.Fatalf("cluster on %s not ok: %v %s", s.Addr, err, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ClusterURL is the store.redis URL of a StartCluster server.
func (s *Server) ClusterURL() string { return "redis-cluster://" + s.Addr }

func start(t testing.TB, cluster bool) *Server {
	s := &Server{bin: Binary(t), dir: t.TempDir(), t: t, cluster: cluster}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	l.Close()
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// Restart starts the server again on its port (after Stop).
func (s *Server) Restart() {
	s.t.Helper()
	_, port, _ := net.SplitHostPort(s.Addr)
	args := []string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--logfile", filepath.Join(s.dir, "redis.log")}
	if s.cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(s.dir, "nodes.conf"))
	}
	s.cmd = exec.Command(s.bin, args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}
	// Wait until it answers PING; a server that does not come up within
	// ten seconds is broken, not slow.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := ping(s.Addr); err == nil {
			return
		} else if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.Stop()
			s.t.Fatalf("redis-server on %s does not answer: %v\n%s", s.Addr, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (as an outage would) and waits for it to exit.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// ping sends one inline PING and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %s", strconv.Quote(line))
	}
	return nil
}
