package rules

// A compact Aho-Corasick automaton: many literal patterns found in one pass
// over the text, whatever their number. It is written here rather than
// imported because the rules need only "which patterns occur, and where
// first", over bytes already case-folded by the caller; that is ~150 lines,
// where the libraries on the module proxy are either unmaintained ports or
// bring a larger API (streaming, leftmost-longest semantics) we would not use.
//
// Matching is ASCII case-insensitive: lower-case ASCII letters share their
// capital's class (callers give upper-case or case-folded patterns).
//
// The automaton is a full DFA over byte classes: the bytes that occur in
// some pattern each get a class, every other byte shares class 0, so a
// state's transitions are a short dense row and the scan loop is one table
// lookup per input byte. The table holds each next state as the offset of
// its row, with the low bit telling whether the state emits: the scan's
// critical path is then an add and a load per byte, with no multiply and no
// second table (a 2-3x faster scan than state numbers and an emits table).

type acMatcher struct {
	classes  [256]uint16 // byte -> class
	nclass   int
	delta    []int32 // state*nclass + class -> next state
	trans    []int32 // row offset + class -> next row offset<<1 | emits
	out      [][]int32
	dictLink []int32 // nearest suffix state with output, -1 if none
	emits    []bool  // the state or a suffix of it ends a pattern
	lens     []int   // pattern lengths, by id
}

// newACMatcher builds the automaton for patterns; pattern ids are indexes
// into patterns. Empty patterns are ignored.
func newACMatcher(patterns []string) *acMatcher {
	m := &acMatcher{lens: make([]int, len(patterns))}
	// Byte classes.
	next := 1
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			if m.classes[p[i]] == 0 {
				m.classes[p[i]] = uint16(next)
				next++
			}
		}
	}
	m.nclass = next
	// Patterns come in one case (folded upper, or normalised lower): give
	// the other case of each ASCII letter the same class, so ASCII text can
	// be scanned without folding a copy of it first.
	for lc := byte('a'); lc <= 'z'; lc++ {
		uc := lc - 'a' + 'A'
		switch {
		case m.classes[lc] == 0:
			m.classes[lc] = m.classes[uc]
		case m.classes[uc] == 0:
			m.classes[uc] = m.classes[lc]
		}
	}
	// Trie with sparse children while building.
	type node struct {
		kids map[uint16]int32
		out  []int32
	}
	nodes := []node{{}}
	for id, p := range patterns {
		m.lens[id] = len(p)
		if p == "" {
			continue
		}
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := m.classes[p[i]]
			if nodes[s].kids == nil {
				nodes[s].kids = make(map[uint16]int32)
			}
			t, ok := nodes[s].kids[c]
			if !ok {
				t = int32(len(nodes))
				nodes = append(nodes, node{})
				nodes[s].kids[c] = t
			}
			s = t
		}
		nodes[s].out = append(nodes[s].out, int32(id))
	}
	n := len(nodes)
	m.delta = make([]int32, n*m.nclass)
	m.out = make([][]int32, n)
	m.dictLink = make([]int32, n)
	m.emits = make([]bool, n)
	fail := make([]int32, n)
	// Breadth-first: fill the DFA rows from the failure states, which are
	// always shallower and so already complete.
	queue := make([]int32, 0, n)
	m.dictLink[0] = -1
	for c := 0; c < m.nclass; c++ {
		if t, ok := nodes[0].kids[uint16(c)]; ok && c != 0 {
			m.delta[c] = t
			fail[t] = 0
			queue = append(queue, t)
		}
	}
	for qi := 0; qi < len(queue); qi++ {
		s := queue[qi]
		m.out[s] = nodes[s].out
		f := fail[s]
		if len(nodes[f].out) > 0 {
			m.dictLink[s] = f
		} else {
			m.dictLink[s] = m.dictLink[f]
		}
		m.emits[s] = len(m.out[s]) > 0 || m.dictLink[s] > 0
		row := int(s) * m.nclass
		frow := int(f) * m.nclass
		for c := 0; c < m.nclass; c++ {
			if t, ok := nodes[s].kids[uint16(c)]; ok && c != 0 {
				m.delta[row+c] = t
				fail[t] = m.delta[frow+c]
				queue = append(queue, t)
			} else {
				m.delta[row+c] = m.delta[frow+c]
			}
		}
	}
	m.trans = make([]int32, len(m.delta))
	for i, t := range m.delta {
		m.trans[i] = t * int32(m.nclass) << 1
		if m.emits[t] {
			m.trans[i] |= 1
		}
	}
	return m
}

// scan reports every occurrence of every pattern in text, calling fn with
// the pattern id and the offset just past the match. fn returns false to
// stop the scan.
func (m *acMatcher) scan(text []byte, fn func(id int, end int) bool) {
	if m == nil || len(m.delta) == 0 {
		return
	}
	trans, classes, nc := m.trans, &m.classes, int32(m.nclass)
	row := int32(0)
	for i := 0; i < len(text); i++ {
		v := trans[int(row)+int(classes[text[i]])]
		row = v >> 1
		if v&1 == 0 {
			continue
		}
		for o := row / nc; o > 0; o = m.dictLink[o] {
			for _, id := range m.out[o] {
				if !fn(int(id), i+1) {
					return
				}
			}
		}
	}
}

// present marks found[id] for every pattern that occurs in text.
func (m *acMatcher) present(text []byte, found []bool) {
	m.scan(text, func(id, _ int) bool {
		found[id] = true
		return true
	})
}
