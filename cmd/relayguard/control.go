package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"relayguard/config"
	"relayguard/internal/control"
	"relayguard/internal/store"
	"relayguard/rules/message"
)

// The embedded store is one bbolt file that only one process may open for
// writing, and serve keeps it open. The commands that change or count
// state (learn, ratelimit, store stats) then ask the running serve through
// its control socket, beside the file, instead of failing: a Dovecot sieve
// pipe must be able to train while the proxy runs. With store.redis every
// process opens the store itself and the socket is not used.

// controlSocket is where serve answers for its embedded store.
func controlSocket(c *config.Config) string { return filepath.Join(c.Store.Dir, "control.sock") }

// controlTimeout bounds one request to the running serve.
const controlTimeout = time.Minute

// startControl opens the control socket when serve holds the embedded
// store; nil when the store is shared (Redis) or in memory.
func startControl(cfg *config.Config, svc *services, log *slog.Logger) (*control.Server, error) {
	if _, ok := svc.store.(*store.File); !ok {
		return nil, nil
	}
	cl, err := newClassifier(cfg, svc)
	if err != nil {
		return nil, err
	}
	lim := limiterOf(cfg, svc.store, log)
	handlers := map[string]control.Handler{
		"learn": func(ctx context.Context, req control.Request) (string, error) {
			f := learnFlags{spam: req.Args["mode"] == "spam", ham: req.Args["mode"] == "ham", forget: req.Args["forget"] == "true"}
			m := message.ParseMessage(bytes.NewReader(req.Body), int64(len(req.Body)))
			return learnOne(ctx, cl, m, f)
		},
		"learn-stats": func(ctx context.Context, _ control.Request) (string, error) {
			return captured(func(out, errw io.Writer) int { return learnStats(ctx, cl, svc.store, cfg, out, errw) })
		},
		"ratelimit": func(ctx context.Context, req control.Request) (string, error) {
			return captured(func(out, errw io.Writer) int {
				return ratelimitDo(ctx, lim, req.Args["sub"], req.Args["key"], out, errw)
			})
		},
		"store-stats": func(ctx context.Context, _ control.Request) (string, error) {
			return captured(func(out, errw io.Writer) int { return printStoreStats(ctx, svc.store, out, errw) })
		},
	}
	return control.Listen(controlSocket(cfg), handlers, log)
}

// captured runs a command's body with its output in a string, its failure
// (non-zero status) an error carrying what it wrote to stderr.
func captured(run func(out, errw io.Writer) int) (string, error) {
	var out, errw bytes.Buffer
	if code := run(&out, &errw); code != 0 {
		return out.String(), errors.New(errw.String())
	}
	return out.String(), nil
}

// askServe sends one request to the running serve of cfg's embedded store.
func askServe(cfg *config.Config, req control.Request) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), controlTimeout)
	defer cancel()
	out, err := control.Call(ctx, controlSocket(cfg), req)
	if errors.Is(err, control.ErrNoServer) {
		return "", fmt.Errorf("the state store %s is locked, and no relayguard answers on %s", filepath.Join(cfg.Store.Dir, store.FileName), controlSocket(cfg))
	}
	return out, err
}

// viaServe runs a command in the running serve when the embedded store is
// locked by it (err from opening the store), printing what it says; ok is
// false when err is not that case and the command must report err itself.
func viaServe(cfg *config.Config, err error, req control.Request, stdout, stderr io.Writer) (code int, ok bool) {
	if !errors.Is(err, store.ErrInUse) {
		return 0, false
	}
	out, err := askServe(cfg, req)
	io.WriteString(stdout, out)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1, true
	}
	return 0, true
}
