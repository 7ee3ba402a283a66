package auth

// Symbol names. Default scores are in symbolTable; docs/auth.md explains
// each for operators (a test keeps the two in step).
const (
	SymSPFPass      = "SPF_PASS"
	SymSPFFail      = "SPF_FAIL"
	SymSPFSoftFail  = "SPF_SOFTFAIL"
	SymSPFNeutral   = "SPF_NEUTRAL"
	SymSPFNone      = "SPF_NONE"
	SymSPFTempError = "SPF_TEMPERROR"
	SymSPFPermError = "SPF_PERMERROR"

	SymHELOPass      = "SPF_HELO_PASS"
	SymHELOFail      = "SPF_HELO_FAIL"
	SymHELOSoftFail  = "SPF_HELO_SOFTFAIL"
	SymHELONeutral   = "SPF_HELO_NEUTRAL"
	SymHELOTempError = "SPF_HELO_TEMPERROR"
	SymHELOPermError = "SPF_HELO_PERMERROR"

	SymDKIMValid     = "DKIM_VALID"
	SymDKIMInvalid   = "DKIM_INVALID"
	SymDKIMPermError = "DKIM_PERMERROR"
	SymDKIMTempError = "DKIM_TEMPERROR"
	SymDKIMNone      = "DKIM_NONE"

	SymDMARCPass       = "DMARC_PASS"
	SymDMARCReject     = "DMARC_REJECT"
	SymDMARCQuarantine = "DMARC_QUARANTINE"
	SymDMARCSoftFail   = "DMARC_SOFTFAIL"
	SymDMARCNA         = "DMARC_NA"
	SymDMARCTempError  = "DMARC_TEMPERROR"
	SymDMARCPermError  = "DMARC_PERMERROR"
	SymDMARCNoFrom     = "DMARC_NO_FROM"
	SymDMARCMultiFrom  = "DMARC_MULTI_FROM"
	SymDMARCBadFrom    = "DMARC_BAD_FROM"

	SymForwardSPFFail         = "FORWARD_SPF_FAIL"
	SymForwardDMARCReject     = "FORWARD_DMARC_REJECT"
	SymForwardDMARCQuarantine = "FORWARD_DMARC_QUARANTINE"
)

// symbolTable lists every symbol with its default score. Calibration:
// rspamd and SpamAssassin give SPF and DKIM results small weights (SPF fail
// about 1, pass about -0.2 to 0), because forwarding breaks SPF and mailing
// lists break DKIM; they matter mostly through DMARC. Our add_header
// threshold is 6 and reject 15, as in rspamd. A DMARC failure under
// p=quarantine marks the message as spam on its own (6.0, the domain asked
// for the spam folder); under p=reject it scores 13.0: enough to reject
// with any corroborating finding worth 2 (an SPF fail, a DNSBL listing) but
// not alone, since we do not verify ARC and so cannot tell a forwarder or a
// mailing list that broke DKIM from a spoofer. Operators who want
// RFC 7489's "SHOULD reject" outright set DMARC_REJECT to 15.
var symbolTable = []struct {
	name  string
	score float64
}{
	{SymSPFPass, -0.1},
	{SymSPFFail, 2.0},
	{SymSPFSoftFail, 1.0},
	{SymSPFNeutral, 0},
	{SymSPFNone, 0},
	{SymSPFTempError, 0},
	{SymSPFPermError, 0},

	{SymHELOPass, 0},
	{SymHELOFail, 1.0},
	{SymHELOSoftFail, 0.5},
	{SymHELONeutral, 0},
	{SymHELOTempError, 0},
	{SymHELOPermError, 0},

	{SymDKIMValid, -0.1},
	{SymDKIMInvalid, 1.0},
	{SymDKIMPermError, 0},
	{SymDKIMTempError, 0},
	{SymDKIMNone, 0},

	{SymDMARCPass, -0.5},
	{SymDMARCReject, 13.0},
	{SymDMARCQuarantine, 6.0},
	{SymDMARCSoftFail, 0.5},
	{SymDMARCNA, 0},
	{SymDMARCTempError, 0},
	{SymDMARCPermError, 0.5},
	{SymDMARCNoFrom, 2.0},
	{SymDMARCMultiFrom, 3.0},
	{SymDMARCBadFrom, 1.0},

	{SymForwardSPFFail, 1.0},
	{SymForwardDMARCReject, 10.0},
	{SymForwardDMARCQuarantine, 4.0},
}

// DefaultScores returns a fresh map of every symbol this package emits to
// its default score.
func DefaultScores() map[string]float64 {
	m := make(map[string]float64, len(symbolTable))
	for _, s := range symbolTable {
		m[s.name] = s.score
	}
	return m
}
