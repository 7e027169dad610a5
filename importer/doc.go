// Package importer reads a prospect list (CSV) for `drip import` and
// POST /api/v1/imports: it streams the file, validates every record, and
// hands the good rows in batches to a Sink, which stores and enrols them.
// Memory stays flat whatever the size of the file.
//
// # The file
//
// A header row is required. Its delimiter is ',' ';' or tab, whichever
// occurs most often outside quotes in the header row; an Excel "sep=;"
// first line names it explicitly. Column names are case-insensitive and
// trimmed; spaces and dashes count as underscores ("First Name" is
// first_name) and a few common spellings are aliases ("E-mail", "Email
// Address", "Surname", "Organization", "TZ", "Event", and the Italian and
// Polish "Nome", "Cognome", "Azienda", "Imię", "Nazwisko", "Firma", ...).
// Known columns:
// email (required), first_name, last_name, company, title, phone, met_at,
// first_contact, timezone, language, sender, notes. Any other named column
// becomes a custom field keyed by its normalised name. A column with no
// name, and a column named `reason`, are ignored (see the reject file).
//
// The encoding is UTF-8 unless Options.Encoding says otherwise; a byte
// order mark (UTF-8 or UTF-16) overrides that, because it is the file
// saying what it is. Values are trimmed; Raw keeps them as read.
//
// Blank lines, and records whose cells are all empty (Excel's ";;;;"), are
// skipped without a word. Extra cells beyond the header are accepted when
// empty (Excel's trailing ";").
//
// # Rejected rows
//
// A record is rejected, with the physical line where it starts and a short
// reason, and the import goes on, when it has the wrong number of fields,
// a loaded cell (any but the ignored ones) with a line break (CR or LF: a header-injection guard that also
// refuses a multi-line notes cell), a NUL or invalid UTF-8 (a Windows-1252
// file read as UTF-8), a cell longer than 1000 characters, a missing or
// invalid address (a bare name@example.com, as net/mail parses it, with a
// dot in the domain; the spelling is kept), an unknown IANA time zone, a
// first_contact that is not YYYY-MM-DD, DD/MM/YYYY (00:00 that day in the
// prospect's zone) or RFC 3339, or a sender not in Options.Senders. The
// sink refuses suppressed addresses (store.ErrSuppressed); those are
// rejects too.
//
// # The reject file
//
// Options.RejectTo receives every rejected record unchanged, with a
// `reason` column in FIRST position, in UTF-8 with a byte order mark and
// the input's delimiter (see RejectWriter for why). Because the importer
// ignores a column named `reason`, the reject file re-imports as it is once
// its values are fixed: the user need not delete the column. The cost is
// that a list with a column of its own called "reason" does not load that
// column; Reader.Columns shows it as Ignored so the caller can say so.
//
// # Counting
//
// imported = new prospects, updated = prospects that existed, rejected =
// refused rows. A row whose address appeared earlier in the same file
// counts as updated. In a real import that is the store's answer: batches
// are applied in order, so the earlier row has created the prospect by the
// time the later one arrives, and the importer keeps no per-address state.
// A dry run calls nothing on the sink and keeps a set of 64-bit hashes of
// the normalised addresses instead: measured, 38 bytes an address (36 MiB
// live for a million distinct addresses, against 84 MiB for a set of the
// strings). A collision, odds about 1 in 40 million for a million
// addresses, would count one new row as updated. A dry run does not see
// the store, so it counts a prospect that already exists as imported and
// does not catch suppressed addresses.
package importer
