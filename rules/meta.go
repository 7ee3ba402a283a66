package rules

import (
	"fmt"
	"strconv"
	"strings"
)

// Meta rules combine other symbols with a small expression language, as
// SpamAssassin's meta rules do:
//
//	LINKS_MANY && !DKIM_VALID
//	(PHRASE_MONEY + PHRASE_URGENCY + HTML_ONLY) >= 2
//
// A name is 1 when that symbol fired and 0 when not; && || ! ( ) + and the
// comparisons < <= > >= == != work as in C. The result is true when it is
// not 0.

type metaNode struct {
	op    string // "name", "num", "!", "&&", "||", "+", "<", "<=", ">", ">=", "==", "!="
	name  string
	num   float64
	left  *metaNode
	right *metaNode
}

const (
	maxMetaLen   = 4096
	maxMetaDepth = 64
)

func parseMeta(s string) (*metaNode, error) {
	if len(s) > maxMetaLen {
		return nil, fmt.Errorf("expression longer than %d bytes", maxMetaLen)
	}
	toks, err := lexMeta(s)
	if err != nil {
		return nil, err
	}
	p := &metaParser{toks: toks}
	n, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q in expression", p.toks[p.i])
	}
	return n, nil
}

func lexMeta(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == '+':
			toks = append(toks, s[i:i+1])
			i++
		case strings.HasPrefix(s[i:], "&&") || strings.HasPrefix(s[i:], "||") ||
			strings.HasPrefix(s[i:], "<=") || strings.HasPrefix(s[i:], ">=") ||
			strings.HasPrefix(s[i:], "==") || strings.HasPrefix(s[i:], "!="):
			toks = append(toks, s[i:i+2])
			i += 2
		case c == '!' || c == '<' || c == '>':
			toks = append(toks, s[i:i+1])
			i++
		case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			j := i
			for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		case c >= '0' && c <= '9' || c == '.':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		case c == '&' || c == '|':
			return nil, fmt.Errorf("use %c%c, not %c, in expressions", c, c, c)
		default:
			return nil, fmt.Errorf("unexpected character %q in expression", c)
		}
	}
	return toks, nil
}

type metaParser struct {
	toks []string
	i    int
}

func (p *metaParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *metaParser) or(depth int) (*metaNode, error) {
	return p.binary(depth, []string{"||"}, p.and)
}

func (p *metaParser) and(depth int) (*metaNode, error) {
	return p.binary(depth, []string{"&&"}, p.cmp)
}

func (p *metaParser) cmp(depth int) (*metaNode, error) {
	l, err := p.sum(depth)
	if err != nil {
		return nil, err
	}
	switch op := p.peek(); op {
	case "<", "<=", ">", ">=", "==", "!=":
		p.i++
		r, err := p.sum(depth)
		if err != nil {
			return nil, err
		}
		return &metaNode{op: op, left: l, right: r}, nil
	}
	return l, nil
}

func (p *metaParser) sum(depth int) (*metaNode, error) {
	return p.binary(depth, []string{"+"}, p.unary)
}

func (p *metaParser) binary(depth int, ops []string, next func(int) (*metaNode, error)) (*metaNode, error) {
	l, err := next(depth)
	if err != nil {
		return nil, err
	}
	for {
		op := p.peek()
		if op != ops[0] {
			return l, nil
		}
		p.i++
		r, err := next(depth)
		if err != nil {
			return nil, err
		}
		l = &metaNode{op: op, left: l, right: r}
	}
}

func (p *metaParser) unary(depth int) (*metaNode, error) {
	if depth > maxMetaDepth {
		return nil, fmt.Errorf("expression nested deeper than %d", maxMetaDepth)
	}
	t := p.peek()
	switch {
	case t == "":
		return nil, fmt.Errorf("expression ends early")
	case t == "!":
		p.i++
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &metaNode{op: "!", left: x}, nil
	case t == "(":
		p.i++
		x, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing ) in expression")
		}
		p.i++
		return x, nil
	case t[0] >= '0' && t[0] <= '9' || t[0] == '.':
		f, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q in expression", t)
		}
		p.i++
		return &metaNode{op: "num", num: f}, nil
	case t[0] == '_' || t[0] >= 'A' && t[0] <= 'Z' || t[0] >= 'a' && t[0] <= 'z':
		p.i++
		return &metaNode{op: "name", name: t}, nil
	}
	return nil, fmt.Errorf("unexpected %q in expression", t)
}

// eval computes the expression given which symbols fired.
func (n *metaNode) eval(fired func(string) bool) float64 {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	switch n.op {
	case "name":
		return b(fired(n.name))
	case "num":
		return n.num
	case "!":
		return b(n.left.eval(fired) == 0)
	case "&&":
		return b(n.left.eval(fired) != 0 && n.right.eval(fired) != 0)
	case "||":
		return b(n.left.eval(fired) != 0 || n.right.eval(fired) != 0)
	case "+":
		return n.left.eval(fired) + n.right.eval(fired)
	case "<":
		return b(n.left.eval(fired) < n.right.eval(fired))
	case "<=":
		return b(n.left.eval(fired) <= n.right.eval(fired))
	case ">":
		return b(n.left.eval(fired) > n.right.eval(fired))
	case ">=":
		return b(n.left.eval(fired) >= n.right.eval(fired))
	case "==":
		return b(n.left.eval(fired) == n.right.eval(fired))
	case "!=":
		return b(n.left.eval(fired) != n.right.eval(fired))
	}
	return 0
}

// names lists the symbols the expression refers to.
func (n *metaNode) names(out []string) []string {
	if n == nil {
		return out
	}
	if n.op == "name" {
		return append(out, n.name)
	}
	return n.right.names(n.left.names(out))
}
