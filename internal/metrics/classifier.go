package metrics

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ClassifierState reads the classifier's learned totals and whether it
// has learned enough to speak.
type ClassifierState func(ctx context.Context) (spam, ham int64, ready bool, err error)

// classifierTimeout bounds the store read of one scrape.
const classifierTimeout = 2 * time.Second

var (
	learnedSpamDesc = prometheus.NewDesc("relayguard_classifier_learned_spam", "Spam messages the classifier has learned.", nil, nil)
	learnedHamDesc  = prometheus.NewDesc("relayguard_classifier_learned_ham", "Ham messages the classifier has learned.", nil, nil)
	readyDesc       = prometheus.NewDesc("relayguard_classifier_ready", "1 when the classifier has learned classifier.min_learns of each class and takes part in verdicts.", nil, nil)
	classifierState atomic.Pointer[ClassifierState]
)

// SetClassifierState sets how a scrape reads the classifier's state; nil:
// no classifier, no series. The store is read on scrape, never per
// message.
func SetClassifierState(f ClassifierState) {
	if f == nil {
		classifierState.Store(nil)
		return
	}
	classifierState.Store(&f)
}

type classifierCollector struct{}

func (classifierCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- learnedSpamDesc
	ch <- learnedHamDesc
	ch <- readyDesc
}

func (classifierCollector) Collect(ch chan<- prometheus.Metric) {
	f := classifierState.Load()
	if f == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), classifierTimeout)
	defer cancel()
	spam, ham, ok, err := (*f)(ctx)
	if err != nil {
		// The store cannot be read: no figures rather than wrong ones
		// (the classifier abstains meanwhile, and logs why).
		return
	}
	r := 0.0
	if ok {
		r = 1
	}
	ch <- prometheus.MustNewConstMetric(learnedSpamDesc, prometheus.GaugeValue, float64(spam))
	ch <- prometheus.MustNewConstMetric(learnedHamDesc, prometheus.GaugeValue, float64(ham))
	ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, r)
}

func init() {
	Registry.MustRegister(classifierCollector{})
	for _, n := range []string{"relayguard_classifier_learned_spam", "relayguard_classifier_learned_ham", "relayguard_classifier_ready"} {
		names[n] = true
	}
}
