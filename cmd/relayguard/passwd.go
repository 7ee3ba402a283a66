package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"
)

const passwdUsage = `Usage: relayguard passwd USER

Prints a line for access.users_file: USER:bcrypt-hash. From a terminal it
asks for the password twice, without echo; otherwise it reads the password
as one line from standard input, for scripts:

  relayguard passwd alice >> /etc/relayguard/users
  echo "$PASS" | relayguard passwd alice >> /etc/relayguard/users
`

// runPasswd is `relayguard passwd`: a users_file line without htpasswd.
func runPasswd(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("passwd", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() { fmt.Fprint(stderr, passwdUsage) }
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return 2
	}
	user := fl.Arg(0)
	if err := checkUserName(user); err != nil {
		fmt.Fprintln(stderr, "relayguard passwd:", err)
		return 2
	}
	var password []byte
	var err error
	if fd := int(stdin.Fd()); term.IsTerminal(fd) {
		password, err = askTwice(func(prompt string) ([]byte, error) {
			fmt.Fprint(stderr, prompt)
			defer fmt.Fprintln(stderr)
			return term.ReadPassword(fd)
		})
	} else {
		password, err = readPasswordLine(stdin)
	}
	if err != nil {
		fmt.Fprintln(stderr, "relayguard passwd:", err)
		return 1
	}
	line, err := usersFileLine(user, password)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard passwd:", err)
		return 1
	}
	fmt.Fprintln(stdout, line)
	return 0
}

// checkUserName refuses names LoadUsers would read differently: the line
// is split at the first colon and trimmed, and # starts a comment.
func checkUserName(user string) error {
	switch {
	case user == "":
		return errors.New("the user name is empty")
	case strings.ContainsAny(user, ": \t\r\n"):
		return fmt.Errorf("user name %q: a colon, space or line break cannot be part of it", user)
	case strings.HasPrefix(user, "#"):
		return fmt.Errorf("user name %q: a line starting with # is a comment in the users file", user)
	}
	return nil
}

// askTwice reads a password twice from a terminal and insists both match,
// so a typo made without echo does not lock the user out.
func askTwice(read func(prompt string) ([]byte, error)) ([]byte, error) {
	first, err := read("Password: ")
	if err != nil {
		return nil, fmt.Errorf("reading the password: %w", err)
	}
	second, err := read("Password again: ")
	if err != nil {
		return nil, fmt.Errorf("reading the password: %w", err)
	}
	if !bytes.Equal(first, second) {
		return nil, errors.New("the two passwords differ; nothing written")
	}
	return first, nil
}

// readPasswordLine reads the first line of r, without its line ending.
func readPasswordLine(r io.Reader) ([]byte, error) {
	line, err := bufio.NewReader(r).ReadBytes('\n')
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("no password on standard input")
		}
		return nil, fmt.Errorf("reading the password from standard input: %w", err)
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

// usersFileLine makes "user:hash" with bcrypt's default cost, the cost the
// proxy's dummy hash for unknown users has, so a wrong user name and a
// wrong password take as long to refuse (filter/auth.go).
func usersFileLine(user string, password []byte) (string, error) {
	if len(password) == 0 {
		return "", errors.New("the password is empty")
	}
	// bcrypt reads at most 72 bytes; x/crypto refuses longer input
	// rather than ignoring the rest silently.
	if len(password) > 72 {
		return "", fmt.Errorf("the password is %d bytes; bcrypt takes at most 72", len(password))
	}
	hash, err := bcrypt.GenerateFromPassword(password, bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hashing the password: %w", err)
	}
	return user + ":" + string(hash), nil
}
