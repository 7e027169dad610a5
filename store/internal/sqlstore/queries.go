package sqlstore

// queries are every SQL statement of the store, by `-- name:` in
// queries.sql (shared) or the driver's queries.sql (enrollment-claim,
// import-lock, import-prospect-ids, import-update-prospects, import-load-*).
type queries struct {
	ProspectLockByNorm         string `query:"prospect-lock-by-norm"`
	ProspectByNorm             string `query:"prospect-by-norm"`
	ProspectByID               string `query:"prospect-by-id"`
	ProspectLock               string `query:"prospect-lock"`
	ProspectForgotten          string `query:"prospect-forgotten"`
	ProspectsByIDs             string `query:"prospects-by-ids"`
	ProspectInsert             string `query:"prospect-insert"`
	ProspectUpdate             string `query:"prospect-update"`
	ProspectForget             string `query:"prospect-forget"`
	ForgetEnrollments          string `query:"forget-enrollments"`
	ForgetEvents               string `query:"forget-events"`
	ForgetSends                string `query:"forget-sends"`
	EnrollmentByID             string `query:"enrollment-by-id"`
	EnrollmentLock             string `query:"enrollment-lock"`
	EnrollmentsLock            string `query:"enrollments-lock"`
	EnrollmentsLockRows        string `query:"enrollments-lock-rows"`
	EnrollmentByPair           string `query:"enrollment-by-pair"`
	EnrollmentsByProspect      string `query:"enrollments-by-prospect"`
	EnrollmentsByIDs           string `query:"enrollments-by-ids"`
	EnrollmentsOfProspects     string `query:"enrollments-of-prospects"`
	EnrollmentsOpenOfProspect  string `query:"enrollments-open-of-prospect"`
	EnrollmentInsert           string `query:"enrollment-insert"`
	EnrollmentUpdate           string `query:"enrollment-update"`
	EnrollmentAdvance          string `query:"enrollment-advance"`
	EnrollmentsRelease         string `query:"enrollments-release"`
	EnrollmentsCompletePastEnd string `query:"enrollments-complete-past-end"`
	EnrollmentCounts           string `query:"enrollment-counts"`
	AnalyzeEnrollments         string `query:"analyze-enrollments"`
	DueBacklog                 string `query:"due-backlog"`
	SendGate                   string `query:"send-gate"`
	SendGateBatch              string `query:"send-gate-batch"`
	SenderDailyTakeN           string `query:"sender-daily-take-n"`
	SenderDailyLock            string `query:"sender-daily-lock"`
	SenderDailySet             string `query:"sender-daily-set"`
	SenderDailyTake            string `query:"sender-daily-take"`
	SenderDailyGiveBack        string `query:"sender-daily-give-back"`
	SenderDailyUsed            string `query:"sender-daily-used"`
	SenderPaceTake             string `query:"sender-pace-take"`
	SenderPaceEarlier          string `query:"sender-pace-earlier"`
	SenderPaces                string `query:"sender-paces"`
	SenderBounces              string `query:"sender-bounces"`
	SenderBreakerReset         string `query:"sender-breaker-reset"`
	SendBegin                  string `query:"send-begin"`
	SendRetry                  string `query:"send-retry"`
	SendSettle                 string `query:"send-settle"`
	SendGet                    string `query:"send-get"`
	SendsByEnrollment          string `query:"sends-by-enrollment"`
	SentByMessageIDs           string `query:"sent-by-message-ids"`
	SentLatestToEmail          string `query:"sent-latest-to-email"`
	EnrollmentsRunningByEmail  string `query:"enrollments-running-by-email"`
	Suppressed                 string `query:"suppressed"`
	SuppressionInsert          string `query:"suppression-insert"`
	EventInsert                string `query:"event-insert"`
	Timeline                   string `query:"timeline"`
	ImportSuppressed           string `query:"import-suppressed"`
	ImportKnown                string `query:"import-known"`
	ImportKnownNames           string `query:"import-known-names"`
	EnrollmentFirstContact     string `query:"enrollment-first-contact"`
	EnrollmentSuccessor        string `query:"enrollment-successor"`
	ImportLock                 string `query:"import-lock"`
	ImportUpdateProspects      string `query:"import-update-prospects"`
	MailboxCursorGet           string `query:"mailbox-cursor-get"`
	MailboxCursorStart         string `query:"mailbox-cursor-start"`
	MailboxCursorAdvance       string `query:"mailbox-cursor-advance"`
	InboundInsert              string `query:"inbound-insert"`
	MailboxLease               string `query:"mailbox-lease"`
	MailboxLeaseRelease        string `query:"mailbox-lease-release"`
	EnrollmentsReleaseOwners   string `query:"enrollments-release-owners"`
	MailboxLeasesReleaseOwners string `query:"mailbox-leases-release-owners"`
	OAuthGrantGet              string `query:"oauth-grant-get"`
	OAuthGrantLock             string `query:"oauth-grant-lock"`
	OAuthGrantSave             string `query:"oauth-grant-save"`
	OAuthGrantWrite            string `query:"oauth-grant-write"`
	StatsSends                 string `query:"stats-sends"`
	StatsEvents                string `query:"stats-events"`
	StatsBounces               string `query:"stats-bounces"`
	StatsStates                string `query:"stats-states"`
	// languages.go
	LanguageStatsSends   string `query:"language-stats-sends"`
	LanguageStatsEvents  string `query:"language-stats-events"`
	LanguageStatsBounces string `query:"language-stats-bounces"`
	LanguageStatsStates  string `query:"language-stats-states"`
	// security.go
	SecretInsert          string `query:"secret-insert"`
	SecretGet             string `query:"secret-get"`
	SessionRevoke         string `query:"session-revoke"`
	SessionsRevokedExpire string `query:"sessions-revoked-expire"`
	SessionRevoked        string `query:"session-revoked"`
	// unsuppress.go
	SuppressionLock   string `query:"suppression-lock"`
	SuppressionDelete string `query:"suppression-delete"`
	// users.go
	UserInsert           string `query:"user-insert"`
	UserGet              string `query:"user-get"`
	UserSetPassword      string `query:"user-set-password"`
	UserDelete           string `query:"user-delete"`
	ProspectIDsOfSenders string `query:"prospect-ids-of-senders"`
	EnrollmentClaim      string `query:"enrollment-claim"`
	ImportLoadProspect   string `query:"import-load-prospect"`
	ImportLoadEnrollment string `query:"import-load-enrollment"`
	// Only where Dialect.RowsAsJSON.
	SettleWrite     string `query:"settle-write" optional:"true"`
	SendsBeginBatch string `query:"sends-begin-batch" optional:"true"`
	// PostgreSQL's only.
	ImportAsyncCommit string `query:"import-async-commit" optional:"true"`
	// PostgreSQL's liveness (see AdvisoryLiveness).
	InstanceRegister string `query:"instance-register" optional:"true"`
	InstanceLock     string `query:"instance-lock" optional:"true"`
	InstanceHeld     string `query:"instance-held" optional:"true"`
	InstancesDead    string `query:"instances-dead" optional:"true"`
	InstancesForget  string `query:"instances-forget" optional:"true"`
	// SQLite's only (see importInsert).
	ImportProspectIDs   string `query:"import-prospect-ids" optional:"true"`
	SenderHoldSet       string `query:"sender-hold-set"`
	SenderHolds         string `query:"sender-holds"`
	SenderHoldClear     string `query:"sender-hold-clear"`
	EnrollmentsPlanned  string `query:"enrollments-planned"`
	EnrollmentsRedecide string `query:"enrollments-redecide"`
	// webhooks.go
	WebhooksList               string `query:"webhooks-list"`
	WebhookUpsert              string `query:"webhook-upsert"`
	WebhooksDropOthers         string `query:"webhooks-drop-others"`
	WebhookClaim               string `query:"webhook-claim"`
	WebhookDelivered           string `query:"webhook-delivered"`
	WebhookRetry               string `query:"webhook-retry"`
	WebhookPending             string `query:"webhook-pending"`
	WebhookOutboxForget        string `query:"webhook-outbox-forget"`
	WebhookLeasesReleaseOwners string `query:"webhook-leases-release-owners"`
}
