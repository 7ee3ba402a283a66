package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"path/filepath"
	"time"

	"relayguard/config"
)

func runDev(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:2525", "`address` to listen on")
	dir := fs.String("dir", "relayguard-dev", "`folder` for the maildir that accepted mail is written to")
	cfgPath := fs.String("config", "", "configuration `file` to start from (default: the embedded defaults)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: relayguard dev [flags]

Runs relayguard on this machine for testing with swaks: listens on
127.0.0.1:2525 with a self-signed certificate (so swaks --tls works), and
writes every accepted message into a maildir (./relayguard-dev/new/).
Loopback clients may relay anywhere, as in the default config.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	cfg.Server.Listen = *listen
	maildir, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	cfg.Relay.Upstream = "maildir:" + maildir
	// The store lives beside the maildir (unless the configuration names
	// Redis), so dev never needs root or /var/lib.
	cfg.Store.Dir = filepath.Join(maildir, "store")
	log := newLogger(cfg.Log.Format, cfg.Log.Level, stderr)
	tlsCfg, err := selfSignedTLS(cfg.Server.Hostname)
	if err != nil {
		log.Error("cannot make a certificate", "err", err)
		return 1
	}
	banner := func(addr net.Addr) { printDevBanner(stdout, addr.String(), maildir) }
	if err := serve(*cfgPath, cfg, tlsCfg, log, banner); err != nil {
		log.Error("stopped", "err", err)
		return 1
	}
	return 0
}

func printDevBanner(w io.Writer, addr, maildir string) {
	fmt.Fprintf(w, `relayguard dev: listening on %s, accepted mail goes to %s/new/

Try:
  swaks --server %s --to user@example.com
  swaks --server %s --to user@example.com --tls
  swaks --server %s --to user@example.com --body 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'

The first two are delivered (look for X-Spam-Status in the file); the GTUBE
one is refused with 554 5.7.1 and the reasons. Ctrl-C stops.

`, addr, maildir, addr, addr, addr)
}

// selfSignedTLS makes a throwaway certificate for dev mode, valid for a
// day, for the hostname and loopback addresses.
func selfSignedTLS(host string) (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: host, Organization: []string{"relayguard dev"}},
		DNSNames:     []string{host, "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
