// Package fit fits the scores of rules from labelled verdicts: which
// symbols fired on each message of a ham and a spam folder, for one or more
// sets (eras) of mail.
//
// # The model
//
// L2-regularised logistic regression on binary features ("symbol fired"),
// fitted by cyclic coordinate descent with a 1-D Newton step and
// backtracking, inside box constraints. Chosen over SpamAssassin's
// perceptron (masses/perceptron.c) because it has one optimum for a given
// regularisation, so a refit on the same mail gives the same scores and
// cross-validation can choose the regularisation honestly; the perceptron
// depends on its learning rate, epochs and shuffling. Both are linear
// models over the same features, which is what a score file can express.
//
// # Balancing
//
// Each (set, class) group weighs the same in the loss: an example of a
// group of n weighs 1/(groups·n). 500 old spam count as much as 2,750 old
// ham and as much as 1,190 modern spam, so neither era nor the larger class
// decides the scores alone.
//
// # Cross-validation
//
// Folds are stratified by (set, class) with a fixed seed. For each
// regularisation strength in Options.Lambdas the model is fitted on k-1
// folds and judged on the held-out fold by its balanced log-loss; the
// strength with the lowest mean wins. Every accuracy figure "after" is on
// held-out folds: each message is scored by the fold model that did not
// see it, with that model's scores scaled and rounded as they would ship.
//
// # From log-odds to scores
//
// The model's margin w·x (log-odds without the intercept) is mapped to
// score points by one scale a > 0: score = a·w·x, no offset, so a message
// on which nothing fires scores 0 as before. a is chosen so that the
// held-out margin at which each set's ham is at most TargetFP false
// positive (0.1%) lands on AddHeader − 0.1 for the stricter of the sets:
// add_header (6) then means "above the 0.1% false-positive point of every
// era", and reject (15) means two and a half times that margin, which ham
// of either era should hardly reach (the report says how often it does).
//
// # Constraints
//
//   - Caps: each fitted score lies in [Min, Max] (default −5..+10), so no
//     single unpinned rule reaches reject (15) alone. The caps are bounds on
//     the weights (Max/a), and a is re-derived until it settles.
//   - Sign: a rule whose current (hand) score is positive is a spam signal
//     and its weight stays ≥ 0; one whose hand score is negative stays ≤ 0.
//     A rule that the sample says points the other way gets 0, not a flipped
//     sign learned from noise. Rules without a hand score are free.
//   - Pinned rules (GTUBE, sender checks that never fire offline, anything
//     the operator trusts more than the sample) keep their score: they are
//     a fixed offset in the fit, not refitted.
package fit

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// Example is one labelled message.
type Example struct {
	Set     string   // which set (era) it belongs to: balancing and reports
	Spam    bool     // its label
	Symbols []string // the symbols that fired on it
	Score   float64  // the total it had with the scores in force (the "before")
}

// Options tunes Fit. Zero values take the defaults named.
type Options struct {
	Folds     int       // k of the k-fold cross-validation (5)
	Lambdas   []float64 // L2 strengths tried (1e-6 … 3e-2)
	Min, Max  float64   // cap per fitted score (−5, +10)
	AddHeader float64   // the add_header threshold (6)
	Reject    float64   // the reject threshold (15)
	TargetFP  float64   // false-positive rate mapped to AddHeader (0.001)
	// Hand holds the current scores: their signs constrain the fit.
	Hand map[string]float64
	// TowardHand centres the L2 penalty on the hand scores instead of 0:
	// λ/2·(w − hand)². A rule the sample says little about (it fires on a
	// few messages, or only beside stronger rules) then keeps about its
	// hand score instead of being pulled to 0, and cross-validation
	// decides how far the evidence may move the rest. Scores are fitted on
	// one corpus and used on mail it has not seen: this keeps what the
	// rule's author knew where the corpus is silent.
	TowardHand bool
	// KeepOn, when above 0, is the score (with the hand score's sign) a
	// rule gets when its fitted score rounds to 0: the fit found it adds
	// nothing beyond the other rules on this mail, but a score of 0 would
	// turn it off, and on other mail it may be the only evidence. 0 leaves
	// such rules at 0.
	KeepOn float64
	// Pinned scores are kept as they are, not refitted.
	Pinned map[string]float64
	Seed   uint64 // fold assignment (1)
}

// DefaultLambdas is the grid of L2 strengths cross-validation chooses from
// (the loss is a weighted mean, so these are per unit of total weight).
var DefaultLambdas = []float64{1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1}

func (o *Options) defaults() {
	if o.Folds == 0 {
		o.Folds = 5
	}
	if len(o.Lambdas) == 0 {
		o.Lambdas = DefaultLambdas
	}
	if o.Min == 0 && o.Max == 0 {
		o.Min, o.Max = -5, 10
	}
	if o.AddHeader == 0 {
		o.AddHeader = 6
	}
	if o.Reject == 0 {
		o.Reject = 15
	}
	if o.TargetFP == 0 {
		o.TargetFP = 0.001
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
}

// Result is what Fit found.
type Result struct {
	// Scores holds every symbol that fired at least once: fitted ones
	// scaled, capped and rounded to 0.1; pinned ones as pinned.
	Scores map[string]float64
	Pinned map[string]bool
	Lambda float64 // the L2 strength cross-validation chose
	Scale  float64 // score points per unit of log-odds
	Margin float64 // held-out margin (log-odds) mapped to AddHeader − 0.1
	Losses []Loss  // held-out balanced log-loss per strength tried
	// Before is the accuracy of the scores the examples had; After is the
	// held-out accuracy of the fitted scores; one entry per set.
	Before, After []Accuracy
}

// Loss is the held-out balanced log-loss of one L2 strength.
type Loss struct{ Lambda, Loss float64 }

// Accuracy is how one set's ham and spam fare under one set of scores.
type Accuracy struct {
	Set       string
	Ham, Spam int
	AtAdd     Rates // at AddHeader
	AtReject  Rates // at Reject
	FP01, FP1 Rates // at the lowest thresholds keeping ham at ≤ 0.1% and ≤ 1%
}

// Rates is spam caught and ham flagged at a threshold, in percent.
type Rates struct{ Threshold, Caught, FP float64 }

// problem is the examples as a sparse binary matrix of distinct rows.
type problem struct {
	names  []string  // fitted features
	y      []float64 // +1 spam, −1 ham
	weight []float64 // balancing weight, summing to 1
	rows   [][]int32 // features of each example
	cols   [][]int32 // examples of each feature
	pinned []float64 // sum of pinned scores that fired, per row
	set    []int
	sets   []string
	fold   []int
	// example maps each example to its row: examples with the same
	// symbols, class, set and fold share one.
	example []int
}

// Fit fits the scores of the symbols in ex.
func Fit(ex []Example, o Options) (*Result, error) {
	o.defaults()
	if o.Min > 0 || o.Max < 0 || o.Min >= o.Max {
		return nil, fmt.Errorf("fit: caps [%g, %g] must include 0", o.Min, o.Max)
	}
	p, err := newProblem(ex, o)
	if err != nil {
		return nil, err
	}
	res := &Result{Scores: map[string]float64{}, Pinned: map[string]bool{}}
	for _, e := range ex {
		for _, s := range e.Symbols {
			if v, ok := o.Pinned[s]; ok {
				res.Scores[s], res.Pinned[s] = v, true
			}
		}
	}

	// The scale depends on the fit (caps and pinned offsets are in
	// points, the fit in log-odds), so fit, derive the scale, refit with
	// it until it settles. Two or three rounds suffice in practice.
	scale := 0.0 // unknown: no caps, pinned scores read as log-odds
	var cv cvResult
	for round := 0; round < 8; round++ {
		cv = p.crossValidate(o, scale)
		m, err := p.marginAtFP(cv.heldOut, o.TargetFP)
		if err != nil {
			return nil, err
		}
		next := (o.AddHeader - 0.1) / m
		done := scale > 0 && math.Abs(next-scale) <= 0.002*scale
		scale = next
		res.Margin = m
		if done {
			break
		}
	}
	res.Scale, res.Lambda, res.Losses = scale, cv.lambda, cv.losses

	lo, hi := p.bounds(o, scale)
	final := p.fit(p.allFolds(), cv.lambda, lo, hi, p.offsets(scale), p.centres(o, scale), &cv.models[0])
	for j, n := range p.names {
		res.Scores[n] = keepOn(toScore(final.w[j], scale, o), o.Hand[n], o.KeepOn)
	}

	res.Before = p.accuracy(func(i, _ int) float64 { return ex[i].Score }, o)
	foldScores := make([][]float64, len(cv.models))
	for f, m := range cv.models {
		foldScores[f] = make([]float64, len(p.names))
		for j := range p.names {
			foldScores[f][j] = keepOn(toScore(m.w[j], scale, o), o.Hand[p.names[j]], o.KeepOn)
		}
	}
	res.After = p.accuracy(func(_, u int) float64 {
		s := p.pinned[u]
		for _, j := range p.rows[u] {
			s += foldScores[p.fold[u]][j]
		}
		return s
	}, o)
	return res, nil
}

// keepOn gives a rule whose fitted score is 0 the score floor (with its
// hand score's sign), when floor is set.
func keepOn(score, hand, floor float64) float64 {
	if score != 0 || floor <= 0 || hand == 0 {
		return score
	}
	return math.Copysign(floor, hand)
}

// toScore scales a weight to points, caps it and rounds it to 0.1.
func toScore(w, scale float64, o Options) float64 {
	s := math.Round(w*scale*10) / 10
	s = math.Max(o.Min, math.Min(o.Max, s))
	if s == 0 {
		s = 0 // no "-0"
	}
	return s
}

func newProblem(ex []Example, o Options) (*problem, error) {
	p := &problem{}
	setIndex := map[string]int{}
	feature := map[string]int32{}
	for _, e := range ex {
		for _, s := range e.Symbols {
			if _, pin := o.Pinned[s]; !pin {
				feature[s] = 0
			}
		}
		if _, ok := setIndex[e.Set]; !ok {
			setIndex[e.Set] = len(p.sets)
			p.sets = append(p.sets, e.Set)
		}
	}
	for n := range feature {
		p.names = append(p.names, n)
	}
	sort.Strings(p.names)
	for j, n := range p.names {
		feature[n] = int32(j)
	}
	// Each example's features, its group (set, class) and group sizes.
	type group struct{ set, spam int }
	groupOf := make([]group, len(ex))
	members := map[group][]int{}
	rows := make([][]int32, len(ex))
	pinned := make([]float64, len(ex))
	for i, e := range ex {
		g := group{setIndex[e.Set], 0}
		if e.Spam {
			g.spam = 1
		}
		groupOf[i] = g
		members[g] = append(members[g], i)
		seen := map[string]bool{}
		for _, s := range e.Symbols {
			if seen[s] {
				continue
			}
			seen[s] = true
			if v, ok := o.Pinned[s]; ok {
				pinned[i] += v
				continue
			}
			rows[i] = append(rows[i], feature[s])
		}
		slices.Sort(rows[i])
	}
	for si, s := range p.sets {
		if len(members[group{si, 0}]) == 0 || len(members[group{si, 1}]) == 0 {
			return nil, fmt.Errorf("fit: set %q needs both ham and spam", s)
		}
	}
	// Stratified folds: shuffle each group, deal round-robin.
	fold := make([]int, len(ex))
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	for si := range p.sets {
		for spam := 0; spam < 2; spam++ {
			idx := members[group{si, spam}]
			for r, k := range rng.Perm(len(idx)) {
				fold[idx[k]] = r % o.Folds
			}
		}
	}
	// Messages with the same symbols, class, set and fold are one row
	// with their summed weight: binary features repeat a lot, and the fit
	// then costs per distinct row. Every (set, class) group weighs the
	// same: an example of a group of n weighs 1/(groups·n).
	rowOf := map[string]int{}
	p.example = make([]int, len(ex))
	for i := range ex {
		g := groupOf[i]
		key := fmt.Sprint(g, fold[i], pinned[i], rows[i])
		u, ok := rowOf[key]
		if !ok {
			u = len(p.rows)
			rowOf[key] = u
			p.rows = append(p.rows, rows[i])
			p.y = append(p.y, float64(2*g.spam-1))
			p.set = append(p.set, g.set)
			p.fold = append(p.fold, fold[i])
			p.pinned = append(p.pinned, pinned[i])
			p.weight = append(p.weight, 0)
		}
		p.weight[u] += 1 / float64(len(members)*len(members[g]))
		p.example[i] = u
	}
	p.cols = make([][]int32, len(p.names))
	for u, row := range p.rows {
		for _, j := range row {
			p.cols[j] = append(p.cols[j], int32(u))
		}
	}
	return p, nil
}

// bounds are the box constraints on the weights for a given scale (0: the
// scale is not known yet, only the sign constraints apply).
func (p *problem) bounds(o Options, scale float64) (lo, hi []float64) {
	lo, hi = make([]float64, len(p.names)), make([]float64, len(p.names))
	for j, n := range p.names {
		lo[j], hi[j] = math.Inf(-1), math.Inf(1)
		if scale > 0 {
			lo[j], hi[j] = o.Min/scale, o.Max/scale
		}
		switch h := o.Hand[n]; {
		case h > 0:
			lo[j] = 0
		case h < 0:
			hi[j] = 0
		}
	}
	return lo, hi
}

// centres are where the L2 penalty pulls each weight: 0, or with
// TowardHand the hand score in log-odds (scale 0: not known yet, 0).
func (p *problem) centres(o Options, scale float64) []float64 {
	mu := make([]float64, len(p.names))
	if !o.TowardHand || scale <= 0 {
		return mu
	}
	for j, n := range p.names {
		mu[j] = o.Hand[n] / scale
	}
	return mu
}

// offsets are the pinned scores in log-odds (scale 0: taken as log-odds).
func (p *problem) offsets(scale float64) []float64 {
	off := make([]float64, len(p.pinned))
	for i, v := range p.pinned {
		if scale > 0 {
			v /= scale
		}
		off[i] = v
	}
	return off
}

// allFolds selects every example for training.
func (p *problem) allFolds() []bool {
	t := make([]bool, len(p.y))
	for i := range t {
		t[i] = true
	}
	return t
}

type model struct {
	w []float64
	b float64
}

type cvResult struct {
	lambda  float64
	losses  []Loss
	models  []model   // per fold, at lambda
	heldOut []float64 // each example's margin w·x+offset from the model that did not see it
}

func (p *problem) crossValidate(o Options, scale float64) cvResult {
	lo, hi := p.bounds(o, scale)
	off := p.offsets(scale)
	mu := p.centres(o, scale)
	best := cvResult{}
	bestLoss := math.Inf(1)
	// From the strongest regularisation down, each fit starting from the
	// previous strength's: the weights move little between neighbours.
	lambdas := append([]float64(nil), o.Lambdas...)
	sort.Sort(sort.Reverse(sort.Float64Slice(lambdas)))
	var prev []model
	for _, lambda := range lambdas {
		models := make([]model, o.Folds)
		held := make([]float64, len(p.y))
		loss := 0.0
		for f := 0; f < o.Folds; f++ {
			train := make([]bool, len(p.y))
			for i := range train {
				train[i] = p.fold[i] != f
			}
			var start *model
			if prev != nil {
				start = &prev[f]
			}
			m := p.fit(train, lambda, lo, hi, off, mu, start)
			models[f] = m
			for i := range p.y {
				if p.fold[i] != f {
					continue
				}
				z := off[i]
				for _, j := range p.rows[i] {
					z += m.w[j]
				}
				held[i] = z
				loss += p.weight[i] * logLoss(p.y[i]*(z+m.b))
			}
		}
		prev = models
		best.losses = append(best.losses, Loss{lambda, loss})
		if loss < bestLoss-1e-12 {
			bestLoss = loss
			best.lambda, best.models, best.heldOut = lambda, models, held
		}
	}
	return best
}

// marginAtFP is the margin that keeps held-out ham of every set at or
// below rate: per set, the margin of the ham that would be one too many,
// and the highest of those.
func (p *problem) marginAtFP(margin []float64, rate float64) (float64, error) {
	m := math.Inf(-1)
	for si := range p.sets {
		var ham []float64
		for _, u := range p.example {
			if p.set[u] == si && p.y[u] < 0 {
				ham = append(ham, margin[u])
			}
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(ham)))
		k := int(rate * float64(len(ham)))
		if k >= len(ham) {
			k = len(ham) - 1
		}
		m = math.Max(m, ham[k])
	}
	if !(m > 0) {
		return 0, errors.New("fit: at the target false-positive rate no positive score separates ham from spam; the symbols carry too little evidence to fit a scale")
	}
	return m, nil
}

// fit minimises Σ weight·log(1+exp(−y(b+w·x+off))) + λ/2·|w − mu|² over
// the training examples, lo ≤ w ≤ hi, by cyclic coordinate descent.
// start, if not nil, is where the descent begins (a warm start from the
// neighbouring regularisation strength).
func (p *problem) fit(train []bool, lambda float64, lo, hi, off, mu []float64, start *model) model {
	total := 0.0
	for i, t := range train {
		if t {
			total += p.weight[i]
		}
	}
	c := make([]float64, len(p.y))
	for i, t := range train {
		if t {
			c[i] = p.weight[i] / total
		}
	}
	m := model{w: make([]float64, len(p.names))}
	z := append([]float64(nil), off...) // b + w·x + off per example
	all := make([]int32, len(p.y))
	for i := range all {
		all[i] = int32(i)
	}
	if start != nil {
		m.b = start.b
		for i := range z {
			z[i] += m.b
		}
	}
	for j := range m.w {
		w0 := 0.0
		if start != nil {
			w0 = start.w[j]
		}
		m.w[j] = math.Max(lo[j], math.Min(hi[j], w0))
		for _, i := range p.cols[j] {
			z[i] += m.w[j]
		}
	}
	for sweep := 0; sweep < 500; sweep++ {
		moved := p.step(all, c, z, &m.b, 0, 0, math.Inf(-1), math.Inf(1))
		for j := range m.w {
			moved = math.Max(moved, p.step(p.cols[j], c, z, &m.w[j], lambda, mu[j], lo[j], hi[j]))
		}
		if moved < 1e-5 { // log-odds; scores are rounded to 0.1 points
			break
		}
	}
	return m
}

// step moves one coordinate v (touching examples idx, pulled towards mu)
// by a Newton step within [lo, hi], halved until the objective does not
// rise, and returns how far it moved.
func (p *problem) step(idx []int32, c, z []float64, v *float64, lambda, mu, lo, hi float64) float64 {
	g, h := lambda*(*v-mu), lambda
	for _, i := range idx {
		if c[i] == 0 {
			continue
		}
		pr := sigmoid(z[i])
		t := 0.0
		if p.y[i] > 0 {
			t = 1
		}
		g += c[i] * (pr - t)
		h += c[i] * pr * (1 - pr)
	}
	if h < 1e-12 {
		h = 1e-12
	}
	obj := func(d float64) float64 {
		s := lambda / 2 * (*v + d - mu) * (*v + d - mu)
		for _, i := range idx {
			if c[i] != 0 {
				s += c[i] * logLoss(p.y[i]*(z[i]+d))
			}
		}
		return s
	}
	d := -g / h
	d = math.Max(-4, math.Min(4, d))
	d = math.Max(lo, math.Min(hi, *v+d)) - *v
	if d == 0 {
		return 0
	}
	f0 := obj(0)
	for k := 0; k < 30 && obj(d) > f0; k++ {
		d /= 2
	}
	if obj(d) > f0 {
		return 0
	}
	*v += d
	for _, i := range idx {
		z[i] += d
	}
	return math.Abs(d)
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// logLoss is log(1+exp(−u)), computed without overflow.
func logLoss(u float64) float64 {
	if u > 0 {
		return math.Log1p(math.Exp(-u))
	}
	return -u + math.Log1p(math.Exp(u))
}

// accuracy measures each set under score(example, its row).
func (p *problem) accuracy(score func(i, u int) float64, o Options) []Accuracy {
	out := make([]Accuracy, 0, len(p.sets))
	for si, name := range p.sets {
		var ham, spam []float64
		for i, u := range p.example {
			if p.set[u] != si {
				continue
			}
			if p.y[u] > 0 {
				spam = append(spam, score(i, u))
			} else {
				ham = append(ham, score(i, u))
			}
		}
		out = append(out, Measure(name, ham, spam, o.AddHeader, o.Reject))
	}
	return out
}

// Measure is the accuracy of scores on one set: at addHeader and reject,
// and at the lowest thresholds (on the 0.01 grid scores are printed on)
// that keep ham at or below 0.1% and 1% false positives.
func Measure(set string, ham, spam []float64, addHeader, reject float64) Accuracy {
	desc := append([]float64(nil), ham...)
	sort.Sort(sort.Reverse(sort.Float64Slice(desc)))
	at := func(th float64) Rates {
		return Rates{Threshold: th, Caught: percentAtOrAbove(spam, th), FP: percentAtOrAbove(ham, th)}
	}
	a := Accuracy{Set: set, Ham: len(ham), Spam: len(spam), AtAdd: at(addHeader), AtReject: at(reject)}
	if len(desc) > 0 {
		a.FP01 = at(thresholdFor(desc, 0.001))
		a.FP1 = at(thresholdFor(desc, 0.01))
	}
	return a
}

// thresholdFor is the lowest threshold on the 0.01 grid at which at most
// rate of the ham (sorted high to low) scores at or above it.
func thresholdFor(hamDesc []float64, rate float64) float64 {
	k := int(rate * float64(len(hamDesc)))
	if k >= len(hamDesc) {
		return hamDesc[len(hamDesc)-1]
	}
	return (math.Floor(hamDesc[k]*100+1e-6) + 1) / 100
}

func percentAtOrAbove(scores []float64, th float64) float64 {
	if len(scores) == 0 {
		return 0
	}
	n := 0
	for _, s := range scores {
		if s >= th-1e-9 {
			n++
		}
	}
	return float64(n) * 100 / float64(len(scores))
}
