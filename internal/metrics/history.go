package metrics

// The verdict history's recorder (internal/history): a record is written,
// dropped because the recorder's queue was full (mail never waits for the
// history), or lost to a store failure.
var historyRecords = newCounterVec("relayguard_history_records_total",
	"Judged messages offered to the console's history, by result: recorded, dropped (queue full: mail never waits for it), failed (the store refused the write).", "result")

var historyCounters = map[string]interface{ Add(float64) }{}

func init() {
	for _, r := range []string{"recorded", "dropped", "failed"} {
		historyCounters[r] = historyRecords.WithLabelValues(r)
	}
}

// HistoryRecords counts n records by result (recorded, dropped, failed).
func HistoryRecords(result string, n int) {
	if c, ok := historyCounters[result]; ok {
		c.Add(float64(n))
	}
}
