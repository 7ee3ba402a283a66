package lists

import (
	"context"
	"fmt"
	"maps"
	"net/mail"
	"net/netip"
	"strings"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/authres"

	"relayguard/internal/mailaddr"
	"relayguard/scoring"
	"relayguard/scoring/auth"
)

// The symbols, and their default scores. ±100 dwarfs every other
// finding: a listed entry decides the verdict on its own.
const (
	SymAllowIP           = "ALLOW_IP"
	SymBlockIP           = "BLOCK_IP"
	SymAllowSender       = "ALLOW_SENDER"
	SymAllowSenderUnauth = "ALLOW_SENDER_UNAUTH"
	SymBlockSender       = "BLOCK_SENDER"
	SymAllowRcpt         = "ALLOW_RCPT"
	SymBlockRcpt         = "BLOCK_RCPT"
)

// DefaultScores are the symbols' scores unless [scores] says otherwise.
func DefaultScores() map[string]float64 {
	return map[string]float64{
		SymAllowIP: -100, SymBlockIP: 100,
		SymAllowSender: -100, SymAllowSenderUnauth: 0, SymBlockSender: 100,
		SymAllowRcpt: -100, SymBlockRcpt: 100,
	}
}

// Options are the entries of each list, written in the configuration,
// and a file of further entries per list ("" for none).
type Options struct {
	AllowIPs, BlockIPs               []string
	AllowSenders, BlockSenders       []string
	AllowRecipients, BlockRecipients []string

	AllowIPsFile, BlockIPsFile               string
	AllowSendersFile, BlockSendersFile       string
	AllowRecipientsFile, BlockRecipientsFile string

	// Scores override DefaultScores by symbol name.
	Scores map[string]float64
}

// Lists are the loaded lists.
type Lists struct {
	allowIPs, blockIPs         IPSet
	allowSenders, blockSenders AddrSet
	allowRcpts, blockRcpts     AddrSet
	scores                     map[string]float64
}

// New loads the lists: the entries given and those of the files.
func New(o Options) (*Lists, error) {
	l := &Lists{scores: DefaultScores()}
	for name, v := range o.Scores {
		if _, ok := l.scores[name]; !ok {
			return nil, fmt.Errorf("lists: no list emits %s", name)
		}
		l.scores[name] = v
	}
	for _, set := range []struct {
		key     string
		entries []string
		file    string
		add     func(string) error
	}{
		{"allow_ips", o.AllowIPs, o.AllowIPsFile, l.allowIPs.Add},
		{"block_ips", o.BlockIPs, o.BlockIPsFile, l.blockIPs.Add},
		{"allow_senders", o.AllowSenders, o.AllowSendersFile, l.allowSenders.Add},
		{"block_senders", o.BlockSenders, o.BlockSendersFile, l.blockSenders.Add},
		{"allow_recipients", o.AllowRecipients, o.AllowRecipientsFile, l.allowRcpts.Add},
		{"block_recipients", o.BlockRecipients, o.BlockRecipientsFile, l.blockRcpts.Add},
	} {
		for _, e := range set.entries {
			if err := set.add(e); err != nil {
				return nil, fmt.Errorf("lists.%s: %w", set.key, err)
			}
		}
		if err := readFile(set.file, set.add); err != nil {
			return nil, fmt.Errorf("lists.%s_file: %w", set.key, err)
		}
	}
	return l, nil
}

// Empty tells that no list has an entry: the engine then runs no list check.
func (l *Lists) Empty() bool {
	return l.allowIPs.Len()+l.blockIPs.Len()+l.allowSenders.Len()+l.blockSenders.Len()+
		l.allowRcpts.Len()+l.blockRcpts.Len() == 0
}

// Checks are the list checks, only those whose lists have entries (each
// check costs the engine a goroutine and a deadline per message): the
// client address at connect; at end of DATA (where DKIM has spoken) the
// senders, the original client behind a trusted relay, and the allowed
// recipients (once per message, however many of them). Blocked recipients
// are not a check: they are refused one by one at RCPT (RefuseRcpt).
func (l *Lists) Checks() []scoring.Check {
	ips := l.allowIPs.Len()+l.blockIPs.Len() > 0
	senders := l.allowSenders.Len()+l.blockSenders.Len() > 0
	var cs []scoring.Check
	if ips {
		cs = append(cs, scoring.CheckFunc{CheckName: "lists_ip", CheckPhase: scoring.PhaseConnect, Fn: l.runIP})
	}
	if ips || senders || l.allowRcpts.Len() > 0 {
		cs = append(cs, scoring.CheckFunc{CheckName: "lists_data", CheckPhase: scoring.PhaseData, Fn: l.runData})
	}
	return cs
}

// runData judges what the message tells: the original client behind a
// trusted relay, the senders, the allowed recipients.
func (l *Lists) runData(ctx context.Context, in *scoring.Input) scoring.Result {
	r := l.runHop(ctx, in)
	s := l.runSender(ctx, in)
	r.Symbols = append(r.Symbols, s.Symbols...)
	r.Symbols = append(r.Symbols, l.allowedRcpts(in.Rcpts)...)
	return r
}

// Scores are the scores in force, for tools that list symbols.
func (l *Lists) Scores() map[string]float64 { return maps.Clone(l.scores) }

func (l *Lists) sym(name, format string, args ...any) scoring.Symbol {
	return scoring.Symbol{Name: name, Score: l.scores[name], Detail: fmt.Sprintf(format, args...)}
}

// runIP judges the client. A trusted relay (our own MTA) is not judged:
// the host behind it is, at end of DATA (runHop).
func (l *Lists) runIP(_ context.Context, in *scoring.Input) scoring.Result {
	if in.Relayed {
		return scoring.Result{}
	}
	return scoring.Result{Symbols: l.ipSymbols(in.ClientIP.String(), in.ClientIP)}
}

func (l *Lists) runHop(_ context.Context, in *scoring.Input) scoring.Result {
	if !in.Relayed || in.Hop == nil {
		return scoring.Result{}
	}
	return scoring.Result{Symbols: l.ipSymbols("original client "+in.Hop.IP.String(), in.Hop.IP)}
}

// ipSymbols: a block entry wins over an allow entry, so a wide allowed
// network can have a bad host carved out of it.
func (l *Lists) ipSymbols(who string, ip netip.Addr) []scoring.Symbol {
	if p, ok := l.blockIPs.Match(ip); ok {
		return []scoring.Symbol{l.sym(SymBlockIP, "%s is on the local block list (%s)", who, p)}
	}
	if p, ok := l.allowIPs.Match(ip); ok {
		return []scoring.Symbol{l.sym(SymAllowIP, "%s is on the local allow list (%s)", who, p)}
	}
	return nil
}

// RefuseRcpt tells whether a recipient is on the block list: the session
// refuses that recipient alone (550 5.7.1), so one blocked address in a
// message to several does not cost the others their mail. Its symbol is
// the reason given and logged.
func (l *Lists) RefuseRcpt(rcpt string) (scoring.Symbol, bool) {
	if l.blockRcpts.Len() == 0 {
		return scoring.Symbol{}, false
	}
	if e, ok := l.blockRcpts.MatchAddress(rcpt); ok {
		return l.sym(SymBlockRcpt, "recipient %s is on the local block list (%s)", rcpt, e), true
	}
	return scoring.Symbol{}, false
}

// allowedRcpts is one ALLOW_RCPT for the message, naming every allowed
// recipient: one verdict per message, so two allowed recipients are not
// twice the allowance.
func (l *Lists) allowedRcpts(rcpts []string) []scoring.Symbol {
	if l.allowRcpts.Len() == 0 {
		return nil
	}
	var names []string
	var entry string
	for _, r := range rcpts {
		if e, ok := l.allowRcpts.MatchAddress(r); ok {
			names = append(names, r)
			if entry == "" {
				entry = e
			}
		}
	}
	switch len(names) {
	case 0:
		return nil
	case 1:
		return []scoring.Symbol{l.sym(SymAllowRcpt, "recipient %s is on the local allow list (%s)", names[0], entry)}
	}
	return []scoring.Symbol{l.sym(SymAllowRcpt, "recipients %s are on the local allow list (%s...)", strings.Join(names, ", "), entry)}
}

// identity is one name the sender goes by: the envelope sender or a From
// address (or only its domain, when the field did not parse).
type identity struct {
	what, addr, domain string
}

func senderIdentities(in *scoring.Input) []identity {
	var ids []identity
	if d := mailaddr.Normalize(mailaddr.Domain(in.From)); d != "" {
		ids = append(ids, identity{"envelope sender", in.From, d})
	}
	seen := map[string]bool{}
	if in.Message != nil {
		for _, v := range in.Message.Header.Values("From") {
			addrs, err := mail.ParseAddressList(v)
			if err != nil {
				continue
			}
			for _, a := range addrs {
				if d := mailaddr.Normalize(mailaddr.Domain(a.Address)); d != "" {
					ids = append(ids, identity{"From", a.Address, d})
					seen[d] = true
				}
			}
		}
	}
	// A From field only a mail reader makes sense of still names a
	// domain (the engine read it leniently): domain entries cover it.
	for _, d := range in.FromDomains {
		if !seen[d] {
			ids = append(ids, identity{"From", "", d})
		}
	}
	return ids
}

func (s *AddrSet) matchIdentity(id identity) (string, bool) {
	if id.addr != "" {
		return s.MatchAddress(id.addr)
	}
	return s.MatchDomain(id.domain)
}

// runSender matches the envelope sender and the From addresses. A block
// entry counts as it is; an allow entry counts only for an identity SPF
// or DKIM authenticated, since anyone can write any sender (what
// SpamAssassin's welcomelist_auth does).
func (l *Lists) runSender(ctx context.Context, in *scoring.Input) scoring.Result {
	ids := senderIdentities(in)
	for _, id := range ids {
		if e, ok := l.blockSenders.matchIdentity(id); ok {
			return scoring.Result{Symbols: []scoring.Symbol{l.sym(SymBlockSender, "%s %s is on the local block list (%s)", id.what, id.label(), e)}}
		}
	}
	var unauth *scoring.Symbol
	var a *authenticated
	for _, id := range ids {
		e, ok := l.allowSenders.matchIdentity(id)
		if !ok {
			continue
		}
		if a == nil {
			a = awaitAuth(ctx, in)
		}
		if how, ok := a.covers(id.domain); ok {
			return scoring.Result{Symbols: []scoring.Symbol{l.sym(SymAllowSender, "%s %s is on the local allow list (%s), authenticated by %s", id.what, id.label(), e, how)}}
		}
		if unauth == nil {
			s := l.sym(SymAllowSenderUnauth, "%s %s is on the local allow list (%s) but neither SPF nor DKIM authenticated %s", id.what, id.label(), e, id.domain)
			unauth = &s
		}
	}
	if unauth != nil {
		return scoring.Result{Symbols: []scoring.Symbol{*unauth}}
	}
	return scoring.Result{}
}

func (id identity) label() string {
	if id.addr != "" {
		return id.addr
	}
	return id.domain
}

// authenticated is what SPF and DKIM vouched for.
type authenticated struct {
	spfDomain   string   // the MAIL FROM domain SPF passed, or ""
	dkimDomains []string // d= of passing signatures
}

// awaitAuth collects SPF (for relayed mail, the original hop's) and DKIM.
func awaitAuth(ctx context.Context, in *scoring.Input) *authenticated {
	a := &authenticated{}
	key := auth.SPFResult
	if in.Relayed {
		key = auth.HopSPFResult
	}
	if o, ok := scoring.Await(ctx, in, key); ok && o != nil && o.Result == spf.Pass {
		a.spfDomain = o.Domain
	}
	if o, ok := scoring.Await(ctx, in, auth.DKIMResult); ok && o != nil {
		for _, s := range o.Signatures {
			if s.Result == authres.ResultPass && s.Domain != "" {
				a.dkimDomains = append(a.dkimDomains, s.Domain)
			}
		}
	}
	return a
}

// covers tells whether domain d was authenticated: SPF passed for d
// itself, or a valid DKIM signature's d= is d or a parent of it (a
// company signs for its subdomains).
func (a *authenticated) covers(d string) (string, bool) {
	if a.spfDomain != "" && a.spfDomain == d {
		return "SPF", true
	}
	for _, sd := range a.dkimDomains {
		if d == sd || strings.HasSuffix(d, "."+sd) {
			return "DKIM (d=" + sd + ")", true
		}
	}
	return "", false
}
