// Package config reads relayguard's TOML configuration. The embedded
// default file is the single source of defaults: it is decoded first and a
// user file is decoded over it, so a key means the same wherever it is
// written and `relayguard config default` prints exactly what applies.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"relayguard/internal/access"
	"relayguard/internal/mailaddr"
	"relayguard/scoring/dns"
)

//go:embed default.toml
var defaultFile []byte

// Default returns the embedded default configuration file, with comments.
func Default() []byte { return bytes.Clone(defaultFile) }

// Config is the whole configuration.
type Config struct {
	Server     Server     `toml:"server"`
	Relay      Relay      `toml:"relay"`
	Access     Access     `toml:"access"`
	Scoring    Scoring    `toml:"scoring"`
	Rules      Rules      `toml:"rules"`
	Log        Log        `toml:"log"`
	DNS        DNS        `toml:"dns"`
	Blocklists Blocklists `toml:"blocklists"`
	RDNS       RDNS       `toml:"rdns"`
	HELO       HELO       `toml:"helo"`
	DNSBL      []List     `toml:"dnsbl"`
	DNSWL      []List     `toml:"dnswl"`
	URIBL      []List     `toml:"uribl"`
	// Scores overrides the scores of sender-check symbols by name.
	Scores map[string]float64 `toml:"scores"`
	Store  Store              `toml:"store"`
	// The volume limits, the hold and the AUTH-failure block (ratelimit.go).
	RateLimit    []RateLimit  `toml:"ratelimit"`
	Hold         Hold         `toml:"hold"`
	AuthFailures AuthFailures `toml:"auth_failures"`
	// Classifier configures the statistical filter (scores of its BAYES_
	// symbols are in [scores]).
	Classifier Classifier `toml:"classifier"`
	// Metrics is the Prometheus endpoint (/metrics, /healthz, /readyz).
	Metrics Metrics `toml:"metrics"`
	// Lists are the allow and block lists (lists.go).
	Lists Lists `toml:"lists"`
	// Policy are the per-recipient classes, Forwarding the stricter
	// class of recipients whose mail leaves for another site (lists.go).
	Policy     []PolicyClass `toml:"policy"`
	Forwarding Forwarding    `toml:"forwarding"`
	// Console is the operator's web console and the verdict history.
	Console Console `toml:"console"`
}

// Console configures the operator's web console and its verdict history.
type Console struct {
	// Listen is host:port; empty: off.
	Listen string `toml:"listen"`
	// UsersFile holds the console's users (relayguard passwd); empty:
	// access.users_file.
	UsersFile string `toml:"users_file"`
	// Record keeps the history without a console of this instance's own
	// (instances sharing store.redis with one that serves the console).
	Record        bool     `toml:"record"`
	StoreSubjects bool     `toml:"store_subjects"`
	HistoryMax    int      `toml:"history_max"`
	HistoryAge    Duration `toml:"history_age"`
	// Tokens says which messages keep their classifier tokens for
	// training: "judged" (those the classifier tokenized anyway),
	// "always" or "never".
	Tokens string `toml:"tokens"`
}

// ConsoleUsersFile is the users file the console checks passwords in.
func (c *Config) ConsoleUsersFile() string {
	if c.Console.UsersFile != "" {
		return c.Console.UsersFile
	}
	return c.Access.UsersFile
}

// validate checks the [console] section.
func (c *Console) validate(cfg *Config) error {
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			return keyErr("console.listen", "want host:port, got %q", c.Listen)
		}
		if cfg.ConsoleUsersFile() == "" {
			return keyErr("console.users_file", "the console needs a users file (relayguard passwd), and access.users_file is empty too")
		}
	}
	if c.HistoryMax <= 0 {
		return keyErr("console.history_max", "must be positive, got %d", c.HistoryMax)
	}
	if c.HistoryAge.Duration < time.Minute {
		return keyErr("console.history_age", "at least 1m, got %v", c.HistoryAge.Duration)
	}
	if c.Tokens != "judged" && c.Tokens != "always" && c.Tokens != "never" {
		return keyErr("console.tokens", "want judged, always or never, got %q", c.Tokens)
	}
	return nil
}

// Metrics configures the HTTP endpoint for Prometheus and health probes.
type Metrics struct {
	// Listen is host:port; empty: off.
	Listen string `toml:"listen"`
	// Profiling adds Go's profiler (/debug/pprof/) to the endpoint, for
	// measuring where a running daemon spends its CPU and memory.
	Profiling bool `toml:"profiling"`
}

// Classifier configures the statistical filter trained on the site's mail.
type Classifier struct {
	Enabled bool `toml:"enabled"`
	// MinLearns of each class must be learned before it says anything.
	MinLearns int64 `toml:"min_learns"`
	// Autolearn learns from verdicts whose score (without BAYES_) is at
	// or above AutolearnSpam or at or below AutolearnHam.
	Autolearn     bool    `toml:"autolearn"`
	AutolearnSpam float64 `toml:"autolearn_spam"`
	AutolearnHam  float64 `toml:"autolearn_ham"`
}

// Store says where the state kept between messages lives (classifier
// tokens, rate-limit counters, learned-message ids).
type Store struct {
	// Dir holds the embedded store's file (relayguard.db); created on
	// first use. Ignored when Redis is set.
	Dir string `toml:"dir"`
	// Redis, when set, is the Redis every instance shares:
	// redis://[:password@]host:port/db, or for Sentinel
	// redis-sentinel://host:port,host:port/master-name/db.
	Redis string `toml:"redis"`
	// OnError is what the rate limits do while the store cannot be
	// reached: "accept" lets mail through, "tempfail" answers 451 4.3.0.
	// The classifier abstains either way.
	OnError string `toml:"on_error"`
}

// DNS configures the one resolver every sender check uses.
type DNS struct {
	Servers   []string `toml:"servers"`
	Timeout   Duration `toml:"timeout"`
	Retries   int      `toml:"retries"`
	CacheSize int      `toml:"cache_size"`
	OnError   string   `toml:"on_error"`
}

// List is one [[dnsbl]], [[dnswl]] or [[uribl]] entry.
type List struct {
	Zone    string             `toml:"zone"`
	Weight  float64            `toml:"weight"`
	Codes   map[string]float64 `toml:"codes"`
	Policy  []string           `toml:"policy"`
	Name    string             `toml:"name"`
	Bitmask bool               `toml:"bitmask"`
	Test    string             `toml:"test"`
}

type Server struct {
	Listen              string   `toml:"listen"`
	Hostname            string   `toml:"hostname"`
	MaxMessageBytes     int64    `toml:"max_message_bytes"`
	MaxRecipients       int      `toml:"max_recipients"`
	MaxConnections      int      `toml:"max_connections"`
	MaxConnectionsPerIP int      `toml:"max_connections_per_ip"`
	MaxLineLength       int      `toml:"max_line_length"`
	MaxHeaderBytes      int64    `toml:"max_header_bytes"`
	IdleTimeout         Duration `toml:"idle_timeout"`
	DataTimeout         Duration `toml:"data_timeout"`
	ShutdownTimeout     Duration `toml:"shutdown_timeout"`
	TLSCert             string   `toml:"tls_cert"`
	TLSKey              string   `toml:"tls_key"`
	SpoolMemoryBytes    int64    `toml:"spool_memory_bytes"`
	SpoolDir            string   `toml:"spool_dir"`
	// ProxyProtocolFrom are the load balancers allowed (and required) to
	// send a PROXY protocol header; empty: PROXY protocol off.
	ProxyProtocolFrom []netip.Prefix `toml:"proxy_protocol_from"`
}

type Relay struct {
	Upstream  string   `toml:"upstream"`
	StartTLS  string   `toml:"starttls"`
	TLSVerify bool     `toml:"tls_verify"`
	Timeout   Duration `toml:"timeout"`
	Username  string   `toml:"username"`
	Password  string   `toml:"password"`
}

type Access struct {
	RelayNetworks []netip.Prefix `toml:"relay_networks"`
	LocalDomains  []string       `toml:"local_domains"`
	UsersFile     string         `toml:"users_file"`
	TrustedRelays []netip.Prefix `toml:"trusted_relays"`
	EgressIPs     []netip.Addr   `toml:"egress_ips"`
}

type Scoring struct {
	Reject    float64  `toml:"reject"`
	AddHeader float64  `toml:"add_header"`
	Mode      string   `toml:"mode"`
	Explain   string   `toml:"explain"`
	Timeout   Duration `toml:"timeout"`
	// RejectEarly refuses at RCPT when the sender checks alone reach
	// reject, so the body is never received.
	RejectEarly bool `toml:"reject_early"`
}

// Blocklists holds what applies to all [[dnsbl]], [[dnswl]], [[uribl]].
type Blocklists struct {
	MonitorInterval Duration `toml:"monitor_interval"`
	URIBLMaxLookups int      `toml:"uribl_max_lookups"`
	// EgressCheckInterval is how often access.egress_ips are looked up on
	// every [[dnsbl]] list.
	EgressCheckInterval Duration `toml:"egress_check_interval"`
	// RemovalPages maps a zone suffix to the page where a listing is
	// explained and removal asked; the longest matching suffix wins.
	RemovalPages map[string]string `toml:"removal_pages"`
}

// RDNS configures the forward-confirmed reverse DNS check.
type RDNS struct {
	Enabled  bool `toml:"enabled"`
	MaxNames int  `toml:"max_names"`
}

// HELO configures the HELO name check.
type HELO struct {
	Enabled  bool         `toml:"enabled"`
	OurNames []string     `toml:"our_names"`
	OurIPs   []netip.Addr `toml:"our_ips"`
}

type Rules struct {
	Files        []string `toml:"files"`
	MaxScanBytes int64    `toml:"max_scan_bytes"`
}

type Log struct {
	Format string `toml:"format"`
	Level  string `toml:"level"`
}

// Duration is a time.Duration written as "30s" or "5m" in TOML.
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalText(b []byte) error {
	// Whole days ("7d"), which time.ParseDuration does not read, for
	// keys counted in days (console.history_age).
	if days, ok := strings.CutSuffix(string(b), "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			d.Duration = time.Duration(n) * 24 * time.Hour
			return nil
		}
	}
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (want e.g. \"30s\", \"5m\"): %q", b)
	}
	if v < 0 {
		return fmt.Errorf("duration must not be negative: %q", b)
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Load reads the file at path over the defaults. An empty path gives the
// defaults alone.
func Load(path string) (*Config, error) {
	if path == "" {
		return Parse(nil, "")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes data (named name in errors) over the defaults and validates
// the result.
func Parse(data []byte, name string) (*Config, error) {
	var c Config
	if _, err := toml.Decode(string(defaultFile), &c); err != nil {
		return nil, fmt.Errorf("embedded default config: %w", err) // a build defect
	}
	if data != nil {
		md, err := toml.Decode(string(data), &c)
		if err != nil {
			return nil, decodeError(name, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			k := und[0].String()
			return nil, &Error{File: name, Line: lineOf(data, k), Key: k, Msg: "unknown key"}
		}
	}
	if err := c.validate(); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.File = name
			if data != nil {
				e.Line = lineOf(data, e.Key)
			}
		}
		return nil, err
	}
	c.normalise()
	return &c, nil
}

// Error is a configuration error that names the key and, when known, the
// file and line it was written on.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config")
	if e.File != "" {
		b.WriteString(" " + e.File)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	fmt.Fprintf(&b, ": %s: %s", e.Key, e.Msg)
	return b.String()
}

func decodeError(name string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.LastKey == "" {
			return fmt.Errorf("config %s:%d: %s", name, pe.Position.Line, msg)
		}
		return &Error{File: name, Line: pe.Position.Line, Key: pe.LastKey, Msg: msg}
	}
	return fmt.Errorf("config %s: %w", name, err)
}

// lineOf finds the line where the dotted key (table.key) is written, or 0.
// BurntSushi/toml keeps key positions private, and a line number is what
// turns "unknown key" into a one-second fix.
func lineOf(data []byte, key string) int {
	table, name := "", key
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		table, name = key[:i], key[i+1:]
	}
	current := ""
	for i, line := range strings.Split(string(data), "\n") {
		l := strings.TrimSpace(line)
		if strings.HasPrefix(l, "[") {
			current = strings.Trim(l, "[] \t")
			if current == key {
				return i + 1
			}
			continue
		}
		if current != table {
			continue
		}
		if k, _, ok := strings.Cut(l, "="); ok && strings.Trim(strings.TrimSpace(k), `"'`) == name {
			return i + 1
		}
	}
	return 0
}

func keyErr(key, format string, args ...any) error {
	return &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
}

func (c *Config) validate() error {
	if err := c.Classifier.validate(c.Scoring); err != nil {
		return err
	}
	if !oneOf(c.Store.OnError, "accept", "tempfail") {
		return keyErr("store.on_error", `want "accept" or "tempfail", got %q`, c.Store.OnError)
	}
	if c.Store.Dir == "" && c.Store.Redis == "" {
		return keyErr("store.dir", "set store.dir (the embedded store) or store.redis")
	}
	s := &c.Server
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		return keyErr("server.listen", "want host:port, got %q", s.Listen)
	}
	for _, p := range []struct {
		key string
		v   int64
	}{
		{"server.max_message_bytes", s.MaxMessageBytes},
		{"server.max_recipients", int64(s.MaxRecipients)},
		{"server.max_connections", int64(s.MaxConnections)},
		{"server.max_connections_per_ip", int64(s.MaxConnectionsPerIP)},
		{"server.max_line_length", int64(s.MaxLineLength)},
		{"server.max_header_bytes", s.MaxHeaderBytes},
		{"server.spool_memory_bytes", s.SpoolMemoryBytes},
		{"rules.max_scan_bytes", c.Rules.MaxScanBytes},
	} {
		if p.v <= 0 {
			return keyErr(p.key, "must be positive, got %d", p.v)
		}
	}
	if s.MaxLineLength < 1000 {
		return keyErr("server.max_line_length", "RFC 5321 §4.5.3.1.6 lines of 1000 octets must be accepted, got %d", s.MaxLineLength)
	}
	if s.MaxConnectionsPerIP > s.MaxConnections {
		return keyErr("server.max_connections_per_ip", "%d is above max_connections %d", s.MaxConnectionsPerIP, s.MaxConnections)
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{
		{"server.idle_timeout", s.IdleTimeout}, {"server.data_timeout", s.DataTimeout},
		{"relay.timeout", c.Relay.Timeout}, {"scoring.timeout", c.Scoring.Timeout},
	} {
		if d.v.Duration <= 0 {
			return keyErr(d.key, "must be positive")
		}
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		return keyErr("server.tls_cert", "tls_cert and tls_key go together")
	}
	if err := c.Relay.validate(); err != nil {
		return err
	}
	for _, d := range c.Access.LocalDomains {
		// mailaddr.ValidDomain holds the name to IDNA2008 as written: a
		// name that needs UTS #46 mapping (U+212A KELVIN SIGN for k) is
		// refused here rather than silently matched at RCPT.
		if !mailaddr.ValidDomain(strings.TrimSuffix(d, ".")) {
			return keyErr("access.local_domains", "not a domain name: %q", d)
		}
	}
	sc := &c.Scoring
	if sc.Reject < sc.AddHeader {
		return keyErr("scoring.reject", "%.1f is below scoring.add_header %.1f", sc.Reject, sc.AddHeader)
	}
	if !oneOf(sc.Mode, "enforce", "monitor") {
		return keyErr("scoring.mode", "want \"enforce\" or \"monitor\", got %q", sc.Mode)
	}
	if !oneOf(sc.Explain, "full", "summary", "none") {
		return keyErr("scoring.explain", "want \"full\", \"summary\" or \"none\", got %q", sc.Explain)
	}
	if c.Blocklists.URIBLMaxLookups <= 0 {
		return keyErr("blocklists.uribl_max_lookups", "must be positive, got %d", c.Blocklists.URIBLMaxLookups)
	}
	if c.Blocklists.MonitorInterval.Duration < time.Minute {
		return keyErr("blocklists.monitor_interval", "at least 1m, got %v (lists have query limits)", c.Blocklists.MonitorInterval.Duration)
	}
	if c.Blocklists.EgressCheckInterval.Duration < time.Second {
		return keyErr("blocklists.egress_check_interval", "at least 1s, got %v (and minutes in production: lists have query limits)", c.Blocklists.EgressCheckInterval.Duration)
	}
	if c.Metrics.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Listen); err != nil {
			return keyErr("metrics.listen", "want host:port, got %q", c.Metrics.Listen)
		}
	}
	if err := c.Console.validate(c); err != nil {
		return err
	}
	if c.RDNS.MaxNames <= 0 {
		return keyErr("rdns.max_names", "must be positive, got %d", c.RDNS.MaxNames)
	}
	if err := c.DNS.validate(); err != nil {
		return err
	}
	for _, set := range []struct {
		key   string
		lists []List
	}{{"dnsbl", c.DNSBL}, {"dnswl", c.DNSWL}, {"uribl", c.URIBL}} {
		for _, l := range set.lists {
			if !mailaddr.ValidDomain(strings.TrimSuffix(l.Zone, ".")) {
				return keyErr(set.key, "zone %q is not a domain name", l.Zone)
			}
		}
	}
	if !oneOf(c.Log.Format, "text", "json") {
		return keyErr("log.format", "want \"text\" or \"json\", got %q", c.Log.Format)
	}
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		return keyErr("log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	if err := c.validateLimits(); err != nil {
		return err
	}
	if err := c.Lists.validate(); err != nil {
		return err
	}
	return c.validatePolicy()
}

func (d *DNS) validate() error {
	for _, s := range d.Servers {
		if _, err := dns.ServerAddr(s); err != nil {
			return keyErr("dns.servers", "want IP or IP:port, got %q", s)
		}
	}
	if d.Timeout.Duration <= 0 {
		return keyErr("dns.timeout", "must be positive")
	}
	if d.Retries < 0 {
		return keyErr("dns.retries", "must not be negative")
	}
	if !oneOf(d.OnError, "accept", "tempfail") {
		return keyErr("dns.on_error", "want \"accept\" or \"tempfail\", got %q", d.OnError)
	}
	return nil
}

func (r *Relay) validate() error {
	if path, ok := strings.CutPrefix(r.Upstream, "maildir:"); ok {
		if path == "" {
			return keyErr("relay.upstream", "maildir: needs a path")
		}
	} else if host, port, err := net.SplitHostPort(r.Upstream); err != nil || host == "" || port == "" {
		return keyErr("relay.upstream", "want host:port or maildir:PATH, got %q", r.Upstream)
	}
	if !oneOf(r.StartTLS, "off", "opportunistic", "required") {
		return keyErr("relay.starttls", "want off, opportunistic or required, got %q", r.StartTLS)
	}
	if (r.Username == "") != (r.Password == "") {
		return keyErr("relay.username", "username and password go together")
	}
	return nil
}

// normalise puts values in the form the rest of the program compares with.
func (c *Config) normalise() {
	if c.Server.Hostname == "" {
		if h, err := os.Hostname(); err == nil {
			c.Server.Hostname = h
		} else {
			c.Server.Hostname = "localhost"
		}
	}
	// Local domains are compared in ASCII form (A-labels, lower case);
	// validate has made sure each has one.
	for i, d := range c.Access.LocalDomains {
		if a, err := mailaddr.ASCII(strings.TrimSuffix(d, ".")); err == nil {
			c.Access.LocalDomains[i] = a
		}
	}
	for i, p := range c.Access.RelayNetworks {
		c.Access.RelayNetworks[i] = p.Masked()
	}
	for i, p := range c.Access.TrustedRelays {
		c.Access.TrustedRelays[i] = p.Masked()
	}
}

// List is the access facts in the form every layer asks them: who may
// relay, whom we trust, which domains are ours, our egress addresses.
func (a *Access) List() *access.List {
	return access.New(access.Options{RelayNetworks: a.RelayNetworks, TrustedRelays: a.TrustedRelays,
		LocalDomains: a.LocalDomains, EgressIPs: a.EgressIPs})
}

func oneOf(v string, allowed ...string) bool { return slices.Contains(allowed, v) }

// validate keeps autolearn far from the thresholds: learning from
// verdicts near them is how autolearn learns its own mistakes.
func (cl Classifier) validate(sc Scoring) error {
	if cl.MinLearns < 1 {
		return keyErr("classifier.min_learns", "want at least 1, got %d", cl.MinLearns)
	}
	if cl.Autolearn && cl.AutolearnSpam <= sc.Reject {
		return keyErr("classifier.autolearn_spam", "want above scoring.reject (%g), got %g", sc.Reject, cl.AutolearnSpam)
	}
	if cl.Autolearn && cl.AutolearnHam >= sc.AddHeader {
		return keyErr("classifier.autolearn_ham", "want below scoring.add_header (%g), got %g", sc.AddHeader, cl.AutolearnHam)
	}
	return nil
}
