package sequencer

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// FunnelCSVHeader names the columns of WriteFunnelCSV.
var FunnelCSVHeader = []string{"sequence", "step", "sent", "replied", "reply_rate", "auto_replies",
	"bounced", "unsubscribed", "skipped", "failed", "unknown"}

// WriteFunnelCSV writes the funnels as CSV (the funnel page and GET
// /api/v1/sequences/{name}/stats): a header, a row per step with any
// activity, then a row per sequence whose step is "total". reply_rate is
// replies per email sent, 0..1, to four decimals.
func WriteFunnelCSV(w io.Writer, stats ...SequenceStats) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(FunnelCSVHeader); err != nil {
		return fmt.Errorf("writing the funnel: %w", err)
	}
	row := func(seq, step string, s StepStats) []string {
		n := strconv.Itoa
		return []string{seq, step, n(s.Sent), n(s.Replied), strconv.FormatFloat(s.ReplyRate, 'f', 4, 64),
			n(s.AutoReplies), n(s.Bounced), n(s.Unsubscribed), n(s.Skipped), n(s.Failed), n(s.Unknown)}
	}
	for _, st := range stats {
		for _, s := range st.Funnel {
			_ = cw.Write(row(st.Sequence, strconv.Itoa(s.Step), s))
		}
		_ = cw.Write(row(st.Sequence, "total", st.Total))
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing the funnel: %w", err)
	}
	return nil
}
