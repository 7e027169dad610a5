package configs

// Sender.DKIM (dkim_selector) names the DKIM selector(s) that the sender's
// provider signs its mail with, comma-separated ("google", "selector1,
// selector2"), for drip check --dns; empty: the preset's usual ones, else a
// few common ones.
