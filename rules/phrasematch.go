package rules

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"
	"sync"
)

// phraseMatcher finds the phrase lists' phrases in normalised text
// (" w1 w2 ... wn ", see normaliseWords) by looking each text word, and
// each pair of words, up in a small hash table keyed by the phrases' first
// word (one-word phrases) or first two words (the rest: keyed by one word,
// "you" or "click" would each stand for dozens of phrases), and comparing
// a candidate phrase byte for byte.
//
// It replaces an Aho-Corasick automaton over the same patterns: the phrases
// are long multi-word strings, so the automaton had ~12,000 states (2.5 MB
// of transitions) for 847 phrases, and its scan, one dependent load per
// byte, missed the CPU caches the more the rest of the daemon used them. A
// phrase always starts at a word, so one lookup per word is enough; the
// table holds ~850 keys in 32 KB.
//
// Patterns are normalised phrases: a space, then words separated by single
// spaces, then a space (a whole-word phrase) or not (a prefix, "refinanc*":
// its last word may continue in the text). The text is normaliser output,
// already lower case, so bytes compare as they are.
type phraseMatcher struct {
	pats  []string
	slots []phraseSlot // open addressing on the first word's hash
	ids   []int32      // slots' pattern ids, grouped by slot
	mask  uint64
	// filter has a bit per hash of every key, so that the common word,
	// which starts no phrase, is turned away by one bit in a few KB
	// instead of a probe of the table.
	filter [1 << 16 / 64]uint64
	// Single-word prefixes ("refinanc*") are found by hashing each text
	// word's first plen bytes, for each of their lengths; pairs filters
	// the words that could start one by their first two bytes.
	prefixLens []int
	pairs      []uint64 // bit set over the first two bytes
}

type phraseSlot struct {
	key    uint64 // the first word's or words' key, 0 for an empty slot
	lo, hi int32  // ids[lo:hi]
}

// phraseOcc is a phrase's first occurrence: its id and the offset just
// past it.
type phraseOcc struct{ id, end int }

func newPhraseMatcher(patterns []string) *phraseMatcher {
	m := &phraseMatcher{pats: patterns}
	byKey := map[uint64][]int32{}
	var keys []uint64
	for id, p := range patterns {
		if len(p) < 2 || p[0] != ' ' {
			continue // no word: the rule file refuses such phrases
		}
		whole := p[len(p)-1] == ' '
		words := strings.Split(strings.TrimSuffix(p[1:], " "), " ")
		var key uint64
		switch {
		case len(words) == 1 && !whole:
			key = prefixKey(hashWord([]byte(words[0])))
			if !slices.Contains(m.prefixLens, len(words[0])) {
				m.prefixLens = append(m.prefixLens, len(words[0]))
			}
		case len(words) == 1 || len(words) == 2 && !whole:
			// The second word of " w1 w2" is a prefix, whose hash no text
			// word has: the first word alone is the key.
			key = wholeKey(hashWord([]byte(words[0])))
		default:
			key = pairKey(hashWord([]byte(words[0])), hashWord([]byte(words[1])))
		}
		if _, ok := byKey[key]; !ok {
			keys = append(keys, key)
		}
		byKey[key] = append(byKey[key], int32(id))
	}
	slices.Sort(m.prefixLens)
	if len(m.prefixLens) > 0 && m.prefixLens[0] >= 2 {
		m.pairs = make([]uint64, 1<<16/64)
		for _, p := range patterns {
			if len(p) >= 3 && p[0] == ' ' && indexSpace(p[1:]) < 0 {
				pair := pairOf([]byte(p[1:]))
				m.pairs[pair/64] |= 1 << (pair % 64)
			}
		}
	}
	size := 16
	for size < 2*len(keys) {
		size *= 2
	}
	m.slots = make([]phraseSlot, size)
	m.mask = uint64(size - 1)
	for _, k := range keys {
		f := filterBit(k)
		m.filter[f/64] |= 1 << (f % 64)
		i := k >> 1 & m.mask
		for m.slots[i].key != 0 {
			i = (i + 1) & m.mask
		}
		lo := int32(len(m.ids))
		m.ids = append(m.ids, byKey[k]...)
		m.slots[i] = phraseSlot{key: k, lo: lo, hi: int32(len(m.ids))}
	}
	return m
}

// firsts appends to hits the first occurrence of every pattern found in
// text, ordered by where the occurrence ends, longer first among those
// ending at one place: the order in which the automaton it replaces
// reported them (phrase quotes and sums follow that order).
func (m *phraseMatcher) firsts(text []byte, hits []phraseOcc, seen []bool) []phraseOcc {
	if m == nil || len(m.slots) == 0 {
		return hits
	}
	n0 := len(hits)
	// A phrase starts at a space; p is one, the word after it ends at end
	// (with hash h), the word after that at next (hash hn).
	p := bytes.IndexByte(text, ' ')
	if p < 0 {
		return hits
	}
	h, end := hashWordAt(text, p+1)
	for {
		var hn uint64
		next := end
		if end < len(text) {
			hn, next = hashWordAt(text, end+1)
		}
		if start := p + 1; end > start {
			for _, id := range m.lookup(wholeKey(h)) {
				hits = m.try(text, p, id, hits, seen)
			}
			if next > end+1 {
				for _, id := range m.lookup(pairKey(h, hn)) {
					hits = m.try(text, p, id, hits, seen)
				}
			}
			if m.prefixLens != nil && end-start >= m.prefixLens[0] &&
				(m.pairs == nil || m.hasPair(pairOf(text[start:end]))) {
				for _, l := range m.prefixLens {
					if l > end-start {
						break
					}
					for _, id := range m.lookup(prefixKey(hashWord(text[start : start+l]))) {
						hits = m.try(text, p, id, hits, seen)
					}
				}
			}
		}
		if end >= len(text) {
			break
		}
		p, h, end = end, hn, next
	}
	found := hits[n0:]
	slices.SortFunc(found, func(a, b phraseOcc) int {
		if a.end != b.end {
			return a.end - b.end
		}
		return len(m.pats[b.id]) - len(m.pats[a.id])
	})
	return hits
}

// try records pattern id if it occurs at text[p:] and was not seen before.
func (m *phraseMatcher) try(text []byte, p int, id int32, hits []phraseOcc, seen []bool) []phraseOcc {
	pat := m.pats[id]
	if seen[id] || len(text)-p < len(pat) || string(text[p:p+len(pat)]) != pat {
		return hits
	}
	seen[id] = true
	return append(hits, phraseOcc{id: int(id), end: p + len(pat)})
}

func (m *phraseMatcher) lookup(key uint64) []int32 {
	if f := filterBit(key); m.filter[f/64]&(1<<(f%64)) == 0 {
		return nil
	}
	// Bit 0 of a key is always set: the slot comes from the bits above.
	for i := key >> 1 & m.mask; ; i = (i + 1) & m.mask {
		s := &m.slots[i]
		if s.key == key {
			return m.ids[s.lo:s.hi]
		}
		if s.key == 0 {
			return nil
		}
	}
}

const (
	phraseMul  = 0x9e3779b97f4a7c15
	spaceBytes = 0x2020202020202020
	lowBits    = 0x0101010101010101
	highBits   = 0x8080808080808080
)

// hashWordAt hashes the word starting at text[start] and returns the
// offset of the space after it (or len(text)). It reads eight bytes at a
// time and finds the space among them without a loop over the bytes;
// hashWord gives the same hash for the same bytes.
func hashWordAt(text []byte, start int) (uint64, int) {
	h := uint64(0)
	i := start
	for i+8 <= len(text) {
		x := binary.LittleEndian.Uint64(text[i:])
		t := x ^ spaceBytes
		// The lowest zero byte of t is the first space (the borrow trick
		// can only mark bytes above a true zero byte).
		if z := (t - lowBits) &^ t & highBits; z != 0 {
			n := bits.TrailingZeros64(z) / 8
			if n > 0 {
				h = mixChunk(h, x&(1<<(8*n)-1))
			}
			return finishHash(h, i+n-start), i + n
		}
		h = mixChunk(h, x)
		i += 8
	}
	var x uint64
	n := 0
	for i+n < len(text) && text[i+n] != ' ' {
		x |= uint64(text[i+n]) << (8 * n)
		n++
	}
	if n > 0 {
		h = mixChunk(h, x)
	}
	return finishHash(h, i+n-start), i + n
}

// hashWord is hashWordAt's hash of all of w, which holds no space.
func hashWord(w []byte) uint64 {
	h, n := uint64(0), len(w)
	for len(w) >= 8 {
		h = mixChunk(h, binary.LittleEndian.Uint64(w))
		w = w[8:]
	}
	if len(w) > 0 {
		var x uint64
		for i, c := range w {
			x |= uint64(c) << (8 * i)
		}
		h = mixChunk(h, x)
	}
	return finishHash(h, n)
}

func mixChunk(h, x uint64) uint64 {
	return bits.RotateLeft64((h^x)*phraseMul, 31)
}

// finishHash mixes in the word's length n, so that words differing only in
// trailing zero bytes differ.
func finishHash(h uint64, n int) uint64 {
	h ^= uint64(n)
	h ^= h >> 29
	h *= phraseMul
	return h ^ h>>32
}

// wholeKey and prefixKey keep a whole first word and a prefix of the same
// bytes apart in one table (a collision only costs a comparison); neither
// is 0, the empty slot.
func wholeKey(h uint64) uint64  { return h | 1 }
func prefixKey(h uint64) uint64 { return (h ^ 0x5bd1e9955bd1e995) | 1 }

// pairKey is the key of a phrase's first two words.
func pairKey(h1, h2 uint64) uint64 { return finishHash(mixChunk(mixChunk(0, h1), h2), 2) | 1 }

func filterBit(key uint64) uint64 { return key >> 48 }

func (m *phraseMatcher) hasPair(pair int) bool { return m.pairs[pair/64]&(1<<(pair%64)) != 0 }

// pairOf is a word's first two bytes; the word has at least two.
func pairOf(w []byte) int { return int(w[0])<<8 | int(w[1]) }

func indexSpace(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return i
		}
	}
	return -1
}

// phraseScratch holds what one phrase search needs only while it runs:
// the normalised words, their ranges, token buffers, the patterns seen.
// Kept between messages, so that a message does not allocate about three
// times its body text anew for them.
type phraseScratch struct {
	out    []byte
	ranges []wordRange
	tok    []int32
	seen   []bool
	hits   []phraseOcc
}

var phraseScratchPool sync.Pool

// maxKeptScratch bounds the buffers kept for the next message: a rare
// large body should not pin its buffers for good.
const maxKeptScratch = 256 << 10

// getPhraseScratch returns scratch with seen sized for npats patterns,
// all false.
func getPhraseScratch(npats int) *phraseScratch {
	sc, _ := phraseScratchPool.Get().(*phraseScratch)
	if sc == nil {
		sc = &phraseScratch{}
	}
	if len(sc.seen) != npats {
		sc.seen = make([]bool, npats)
	}
	return sc
}

// put clears what the search marked and keeps sc for the next one, unless
// a large text grew its buffers.
func (sc *phraseScratch) put() {
	for _, h := range sc.hits {
		sc.seen[h.id] = false
	}
	sc.hits = sc.hits[:0]
	if cap(sc.out) > maxKeptScratch || cap(sc.ranges) > maxKeptScratch/12 {
		return
	}
	phraseScratchPool.Put(sc)
}
