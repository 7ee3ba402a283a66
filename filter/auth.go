package filter

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/emersion/go-sasl"
	"golang.org/x/crypto/bcrypt"
)

// Users holds SMTP AUTH credentials: user name → bcrypt hash.
type Users map[string][]byte

// LoadUsers reads "user:bcrypt-hash" lines (the htpasswd -B format);
// blank lines and # comments are skipped. Only bcrypt hashes are accepted:
// a plain or weakly hashed password file is an error, not a fallback.
func LoadUsers(path string) (Users, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	users := Users{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("users file %s:%d: want user:bcrypt-hash", path, n)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("users file %s:%d: user %s: not a bcrypt hash (make one with: relayguard passwd %s)", path, n, user, user)
		}
		users[user] = []byte(hash)
	}
	return users, sc.Err()
}

// dummyHash is compared against when the user does not exist, so a wrong
// user name takes as long to refuse as a wrong password (no user
// enumeration by timing).
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("relayguard-no-such-user"), bcrypt.DefaultCost)

var errBadCredentials = errors.New("invalid credentials")

// Verify checks a user's password.
func (u Users) Verify(user, password string) error {
	hash, ok := u[user]
	if !ok {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return errBadCredentials
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil {
		return errBadCredentials
	}
	return nil
}

// loginServer is the server side of the LOGIN mechanism (draft-murchison-
// sasl-login), which Outlook and many devices still use. go-sasl ships only
// its client side.
type loginServer struct {
	step         int
	user         string
	authenticate func(user, pass string) error
}

func newLoginServer(authenticate func(user, pass string) error) sasl.Server {
	return &loginServer{authenticate: authenticate}
}

func (s *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch s.step {
	case 0:
		s.step++
		if response != nil { // initial response carries the user name
			s.user = string(response)
			s.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		s.user = string(response)
		s.step++
		return []byte("Password:"), false, nil
	case 2:
		s.step++
		return nil, true, s.authenticate(s.user, string(response))
	}
	return nil, true, errors.New("unexpected LOGIN response")
}
