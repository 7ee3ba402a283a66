// Package heuristics holds the content findings that need code rather than
// a pattern: counting, comparing two header fields, reading the MIME tree,
// the links or the attachments. Each is a rule of kind "builtin" in a rule
// file, so its score, description and threshold (min) are tuned there like
// any other rule; the rule engine (package rules) looks them up by name and
// runs them on the parsed message (package message). The files group them
// by what they read: links and forms, mime, wording, headers, attachments,
// obfuscation (and, with the brand table, brands).
package heuristics

import (
	"slices"
	"time"

	"relayguard/rules/message"
)

// Input is what a heuristic reads: the message, and the parameters its
// rule gives.
type Input struct {
	Msg *message.Message
	// Min is the rule's threshold (its meaning is the heuristic's Doc).
	Min float64
	// Domains are the rule's domains, lower case.
	Domains map[string]bool
	// Body returns the decoded Subject on the first line, then the visible
	// text, as the body rules read it (computed once per message).
	Body func() string
	// Arrival returns the time the message's Date is judged against
	// (message.ReferenceTime).
	Arrival func() time.Time
	// Rcpts are the envelope recipients, when known (empty offline).
	Rcpts []string
	// Brands is the brand table of the rule set (nil: DefaultBrands).
	Brands *Brands
	// DomainPaths is DomainPaths(Domains), worked out once per rule set
	// (nil: every candidate is looked up).
	DomainPaths map[string]bool

	// fromReg is fromRegistered(Msg), worked out on first use: four link
	// and form rules read it, and a new slice each was 5 of the 147
	// allocations an evaluation of the 5 KB message made.
	fromReg     domainList
	fromRegDone bool
}

// fromRegistered is the registered domains of From's domains, computed
// once per Input.
func (in *Input) fromRegistered() domainList {
	if !in.fromRegDone {
		in.fromRegDone = true
		in.fromReg = fromRegistered(in.Msg)
	}
	return in.fromReg
}

// Heuristic is one finding and how its rule may tune it.
type Heuristic struct {
	// Fn reports whether the finding holds, and the text that shows it.
	Fn           func(in *Input) (match string, ok bool)
	TakesMin     bool
	DefMin       float64
	TakesDomains bool
	// DomainsOf names another built-in whose domains this one reads when
	// its own rule lists none, so one list (the free-mail providers) is
	// kept in one place.
	DomainsOf string
	// Doc says what min means, for the default file and docs.
	Doc string
}

// Lookup finds a heuristic by its rule name.
func Lookup(name string) (Heuristic, bool) {
	h, ok := all[name]
	return h, ok
}

// Names lists every heuristic, sorted.
func Names() []string {
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

var all = map[string]Heuristic{
	// Links.
	"URI_MANY":          {Fn: uriMany, TakesMin: true, DefMin: 30, Doc: "min: number of distinct links"},
	"URI_DOMAINS_MANY":  {Fn: uriDomainsMany, TakesMin: true, DefMin: 10, Doc: "min: number of distinct registered domains"},
	"URI_TEXT_MISMATCH": {Fn: uriTextMismatch},
	"URI_IP_LITERAL":    {Fn: uriIPLiteral},
	"URI_USERINFO":      {Fn: uriUserinfo},
	// HTML and MIME.
	"HTML_ONLY":                {Fn: htmlOnly},
	"MIME_ALT_DIFFERENT":       {Fn: altDifferent, TakesMin: true, DefMin: 0.3, Doc: "min: share of the HTML part's words also in the text part, below which they differ"},
	"HTML_IMAGE_NO_TEXT":       {Fn: imageNoText, TakesMin: true, DefMin: 40, Doc: "min: visible words below which the message is mostly image"},
	"HTML_HIDDEN_TEXT":         {Fn: hiddenText, TakesMin: true, DefMin: 40, Doc: "min: hidden characters"},
	"MIME_MALFORMED":           {Fn: mimeMalformed},
	"MIME_BASE64_TEXT":         {Fn: base64Text},
	"HTML_COMMENT_SPLITS_WORD": {Fn: commentSplits},
	"HTML_FORM":                {Fn: htmlCount(func(s message.Structure) int { return s.Forms }, "forms")},
	"HTML_SCRIPT":              {Fn: htmlCount(func(s message.Structure) int { return s.Scripts }, "scripts")},
	"HTML_BIG_FONT":            {Fn: htmlCount(func(s message.Structure) int { return s.BigFonts }, "huge fonts")},
	"HTML_ENTITY_RUNS":         {Fn: htmlCount(func(s message.Structure) int { return s.EntityRuns }, "runs")},
	"MAILTO_REMOVE":            {Fn: mailtoRemove},
	// Wording.
	"BODY_CAPS_MANY":  {Fn: bodyCaps, TakesMin: true, DefMin: 50, Doc: "min: percent of letters in capitals (over at least 200 letters)"},
	"BODY_CAPS_LINES": {Fn: capsLines, TakesMin: true, DefMin: 3, Doc: "min: consecutive lines in capitals"},
	"BODY_BLANK_GAP":  {Fn: blankGap, TakesMin: true, DefMin: 10, Doc: "min: consecutive blank lines"},
	"BODY_SPACED_OUT": {Fn: spacedOut, TakesMin: true, DefMin: 6, Doc: "min: letters written apart"},
	// Headers.
	"DATE_MISSING":         {Fn: dateMissing},
	"DATE_INVALID":         {Fn: dateInvalid},
	"DATE_IN_FUTURE":       {Fn: dateFuture, TakesMin: true, DefMin: 12, Doc: "min: hours ahead of arrival"},
	"DATE_IN_PAST":         {Fn: datePast, TakesMin: true, DefMin: 96, Doc: "min: hours before arrival"},
	"MSGID_MISSING":        {Fn: msgidMissing},
	"FROM_NAME_OTHER_ADDR": {Fn: fromNameOtherAddr},
	"REPLYTO_FREEMAIL":     {Fn: replyToFreemail, TakesDomains: true},
	"SUBJ_EMPTY":           {Fn: subjEmpty},
	"SUBJ_ALL_CAPS":        {Fn: subjAllCaps, TakesMin: true, DefMin: 10, Doc: "min: letters in the subject"},
	"RCPTS_MANY":           {Fn: rcptsMany, TakesMin: true, DefMin: 15, Doc: "min: addresses in To and Cc"},
	"TO_UNDISCLOSED":       {Fn: toUndisclosed},
	"SUBJ_REPLY_NO_THREAD": {Fn: fakeReply},
	"SUBJ_GREETS_RCPT":     {Fn: subjGreetsRcpt},
	// ---------------------------------------------------------------- obfuscation
	"SUBJ_INVISIBLE_CHARS":      {Fn: count(subjectMarks, invisibleChars, "invisible characters"), TakesMin: true, DefMin: 1, Doc: "min: invisible or bidi characters in or beside Latin words of the Subject"},
	"FROM_NAME_INVISIBLE_CHARS": {Fn: count(fromNameMarks, invisibleChars, "invisible characters"), TakesMin: true, DefMin: 1, Doc: "min: invisible or bidi characters in or beside Latin words of the From display name"},
	"BODY_INVISIBLE_CHARS":      {Fn: count(bodyMarks, invisibleWords, "words split by invisible characters"), TakesMin: true, DefMin: 3, Doc: "min: words of the visible text with an invisible character inside"},
	"BODY_BIDI_CONTROL":         {Fn: count(bodyMarks, bidiControls, "bidi controls"), TakesMin: true, DefMin: 1, Doc: "min: bidirectional controls inside Latin words of the visible text"},
	"SUBJ_STYLED_LETTERS":       {Fn: count(subjectMarks, styledLetters, "styled letters"), TakesMin: true, DefMin: 3, Doc: "min: mathematical, enclosed, full-width or regional-indicator letters in the Subject"},
	"FROM_NAME_STYLED_LETTERS":  {Fn: count(fromNameMarks, styledLetters, "styled letters"), TakesMin: true, DefMin: 3, Doc: "min: styled letters in the From display name"},
	"BODY_STYLED_LETTERS":       {Fn: count(bodyMarks, styledLetters, "styled letters"), TakesMin: true, DefMin: 10, Doc: "min: styled letters in the visible text"},
	"SUBJ_COMBINING_MARKS":      {Fn: count(subjectMarks, markedLetters, "combining marks on Latin letters"), TakesMin: true, DefMin: 2, Doc: "min: combining marks left on Latin letters of the Subject after NFC"},
	"BODY_COMBINING_MARKS":      {Fn: count(bodyMarks, markedLetters, "combining marks on Latin letters"), TakesMin: true, DefMin: 5, Doc: "min: combining marks left on Latin letters of the visible text after NFC"},
	// Where links go, and credential-harvesting forms.
	"URI_FREE_HOSTING":      {Fn: uriListedHost, TakesDomains: true},
	"URI_FORM_BUILDER":      {Fn: uriListedHost, TakesDomains: true},
	"URI_FILE_SHARE":        {Fn: uriListedHost, TakesDomains: true},
	"URI_IPFS":              {Fn: uriListedHost, TakesDomains: true},
	"URI_REDIRECTOR":        {Fn: uriRedirector, TakesDomains: true},
	"__URI_ONE_DOMAIN":      {Fn: uriOneDomain},
	"URI_DATA_OR_SCRIPT":    {Fn: uriDataOrScript},
	"URI_TEXT_NAMES_DOMAIN": {Fn: uriTextNamesDomain},
	"FORM_PASSWORD":         {Fn: formPassword},
	"FORM_OFFSITE":          {Fn: formOffsite},
	// Attachments.
	"ATTACH_EXECUTABLE":         {Fn: attachExecutable},
	"ATTACH_ARCHIVE_EXECUTABLE": {Fn: attachArchiveExecutable},
	"ATTACH_DOUBLE_EXT":         {Fn: attachDoubleExt},
	"ATTACH_PASSWORD_GIVEN":     {Fn: attachPasswordGiven},
	"ATTACH_HTML_CREDENTIALS":   {Fn: attachHTMLCredentials},
	"ATTACH_HTML_SCRIPT":        {Fn: attachHTMLScript},
	"ATTACH_PDF_LINK_THIN":      {Fn: attachPDFLinkThin, TakesMin: true, DefMin: 500, Doc: "min: characters of PDF text below which the PDF says little"},
	"ATTACH_PDF_LURE_FREEMAIL":  {Fn: attachPDFLureFreemail, TakesMin: true, DefMin: 500, Doc: "min: characters of PDF text below which the PDF says little", TakesDomains: true, DomainsOf: "REPLYTO_FREEMAIL"},
	"ATTACH_PDF_ACTIVE":         {Fn: attachPDFActive},
	"ATTACH_ICS_LINK_STRANGER":  {Fn: attachICSLinkStranger},
	// Brands and look-alike domains (brands.go, the table in brands.toml).
	"BRAND_FROM_NAME":        {Fn: brandFromName},
	"BRAND_SUBJECT":          {Fn: brandSubject},
	"BRAND_LINKS_ELSEWHERE":  {Fn: brandLinksElsewhere},
	"BRAND_REPLYTO_FREEMAIL": {Fn: brandReplyFreemail},
	"RCPT_DOMAIN_BAIT":       {Fn: rcptDomainBait},
	"LOOKALIKE_BRAND_DOMAIN": {Fn: brandLookalike},
	"LOOKALIKE_RCPT_DOMAIN":  {Fn: rcptLookalike},
	"PUNYCODE_HOST":          {Fn: punycodeHost},
	"MIXED_SCRIPT_HOST":      {Fn: mixedScriptHost},
}
