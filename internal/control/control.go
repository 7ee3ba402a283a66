// Package control is the local door of a running relayguard: a Unix socket
// beside the embedded store through which the commands that change state
// (learn, ratelimit release, store stats) reach the process that holds the
// store file open. The embedded store is one bbolt file, which one process
// at a time may open for writing; without this door, `relayguard learn`
// (a Dovecot sieve pipe, say) could not train while the proxy runs.
//
// One request per connection, as one JSON object, answered by one JSON
// object. The socket is created with mode 0600 in a 0700 folder: only the
// user relayguard runs as may use it. It imports only the standard library.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

// maxRequest bounds one request: a message to learn fits with room.
const maxRequest = 64 << 20

// Request asks the running process to do Op.
type Request struct {
	Op   string            `json:"op"`
	Args map[string]string `json:"args,omitempty"`
	// Body carries a message (learn).
	Body []byte `json:"body,omitempty"`
}

// Response is the answer: Output for a person, or Error in plain words.
type Response struct {
	Output string `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Handler answers one kind of request.
type Handler func(ctx context.Context, req Request) (output string, err error)

// Server answers requests on a Unix socket.
type Server struct {
	ln       net.Listener
	path     string
	handlers map[string]Handler
	log      *slog.Logger
	wg       sync.WaitGroup
}

// Listen opens the socket at path (a stale one, left by a process that
// died, is replaced) and serves requests until Close.
func Listen(path string, handlers map[string]Handler, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another relayguard is answering on it", path)
	}
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	s := &Server{ln: ln, path: path, handlers: handlers, log: log}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.answer(c)
		}()
	}
}

func (s *Server) answer(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	var req Request
	var resp Response
	if err := json.NewDecoder(io.LimitReader(c, maxRequest)).Decode(&req); err != nil {
		resp.Error = "unreadable request"
	} else if h, ok := s.handlers[req.Op]; !ok {
		resp.Error = fmt.Sprintf("unknown operation %q", req.Op)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
		out, err := h(ctx, req)
		cancel()
		resp.Output = out
		if err != nil {
			resp.Error = err.Error()
		}
		s.log.Info("control request", "op", req.Op, "ok", err == nil)
	}
	json.NewEncoder(c).Encode(resp)
}

// Close stops listening, waits for requests in progress and removes the
// socket.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	os.Remove(s.path)
	return err
}

// ErrNoServer means nothing answers on the socket: no relayguard runs
// with that store.
var ErrNoServer = errors.New("no running relayguard answers on the control socket")

// Call sends req to the process answering on path and returns its output.
func Call(ctx context.Context, path string, req Request) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return "", fmt.Errorf("%w (%s)", ErrNoServer, path)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return "", fmt.Errorf("control socket %s: %w", path, err)
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return "", fmt.Errorf("control socket %s: no answer: %w", path, err)
	}
	if resp.Error != "" {
		return resp.Output, errors.New(resp.Error)
	}
	return resp.Output, nil
}
