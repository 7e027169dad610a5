// Package importer reads a prospect list (CSV) for `drip import` and
// POST /api/v1/imports: it streams the file, validates every record, and
// hands the good rows in batches to a Sink, which stores and enrols them.
// Memory stays flat whatever the size of the file.
//
// # The file
//
// A header row is required. Its delimiter is ',' ';' or tab, whichever
// occurs most often outside quotes in the header row; an Excel "sep=;"
// first line names it explicitly. Column names are matched ignoring case,
// accents and separators ("First Name", "first-name" and "FIRST_NAME" are
// first_name), and each contract column has built-in aliases in English,
// Italian, Polish, German, French and Spanish ("Data contatto", "Fiera",
// "Ruolo", "Note", "Imię", "Nazwisko", "Data kontaktu", "Targi",
// "Stanowisko", "Vorname", "Prénom", "Apellidos", …; see header.go).
// Options.Map (--map 'Header=column,…') maps the rest and wins over an
// alias. Known columns:
// email (required), first_name, last_name, company, title, phone, met_at,
// first_contact, timezone, language, sender, notes; country, basis,
// basis_date and basis_source are recognised and stored as custom fields
// of those names, the basis checked and normalised (CheckBasis). Any other named column becomes a custom field keyed by
// its normalised name. A column with no name, a column named `reason`, and
// a column mapped to ignore are not loaded. Mapping.Report says where each
// column went; Options.OnMapping receives it before the first row loads.
//
// Without Options.Encoding the encoding is detected: a byte order mark
// (UTF-8 or UTF-16) names it; else valid UTF-8 is UTF-8; else the best
// scoring of Windows-1252, Windows-1250 and ISO-8859-2 (see detect.go for
// why a score and not a library). A byte order mark that contradicts
// Options.Encoding is an error. Values are trimmed; Raw keeps them as read.
//
// Blank lines, and records whose cells are all empty (Excel's ";;;;"), are
// skipped without a word. Extra cells beyond the header are accepted when
// empty (Excel's trailing ";").
//
// # Rejected rows
//
// A record is rejected, with the physical line where it starts and a short
// reason, and the import goes on, when it has the wrong number of fields,
// a line break (CR or LF) in a field that can reach a mail header (the
// address, names, company, title, phone, met_at, dates, zone, language,
// sender: a header-injection guard), a NUL or invalid UTF-8 (the hint names
// the encoding the bytes look like), a cell longer than 1000 characters, a
// missing or invalid address (a bare name@example.com, as net/mail parses
// it, with a dot in the domain; the spelling is kept), an unknown IANA time
// zone, a first_contact that is not a date (see DateFormats; a day that
// does not exist, 31/11, is not one), or a sender not in Options.Senders.
// Notes and custom fields may span lines (CR LF becomes LF). The sink
// refuses suppressed addresses (store.ErrSuppressed); those are rejects too.
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
// addresses, would count one new row as updated. The importer's own dry
// run does not see the store; sequencer.Control's does, and counts exactly
// what the import would.
package importer
