package importer

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// field is what a column holds.
type field int

const (
	fieldCustom field = iota // any other column: a custom field
	fieldIgnored
	fieldEmail
	fieldFirstName
	fieldLastName
	fieldCompany
	fieldTitle
	fieldPhone
	fieldMetAt
	fieldFirstContact
	fieldTimezone
	fieldLanguage
	fieldSender
	fieldNotes
)

// knownColumns are the contract's column names.
var knownColumns = map[string]field{
	"email":         fieldEmail,
	"first_name":    fieldFirstName,
	"last_name":     fieldLastName,
	"company":       fieldCompany,
	"title":         fieldTitle,
	"phone":         fieldPhone,
	"met_at":        fieldMetAt,
	"first_contact": fieldFirstContact,
	"timezone":      fieldTimezone,
	"language":      fieldLanguage,
	"sender":        fieldSender,
	"notes":         fieldNotes,
}

// contractOnly are the contract's columns that no field of a Row holds
// yet: they load as custom fields under that name, so aliases and --map
// may already name them.
var contractOnly = []string{"country", "basis", "basis_date", "basis_source"}

// aliases are the names spreadsheets and CRMs give the contract's columns,
// in English, Italian, Polish, German, French and Spanish, folded (see
// foldColumn: lower case, no accents, separators as one underscore).
var aliases = map[string]string{}

func init() {
	for target, names := range map[string][]string{
		"email": {"e_mail", "mail", "email_address", "e_mail_address", "mail_address",
			"indirizzo_email", "indirizzo_e_mail", "posta_elettronica", // it
			"adres_email", "adres_e_mail", "poczta", // pl
			"e_mail_adresse", "emailadresse", "mailadresse", // de
			"courriel", "adresse_email", "adresse_e_mail", "adresse_mail", // fr
			"correo", "correo_electronico", "direccion_de_correo", // es
		},
		"first_name": {"firstname", "first", "given_name", "forename",
			"nome", "imie", "vorname", "prenom", "nombre"},
		"last_name": {"lastname", "surname", "family_name",
			"cognome", "nazwisko", "nachname", "familienname", "nom", "nom_de_famille", "apellido", "apellidos"},
		"company": {"company_name", "organization", "organisation", "account", "account_name",
			"azienda", "societa", "ragione_sociale", "ditta", // it
			"firma", "nazwa_firmy", "organizacja", // pl
			"unternehmen", "firmenname", // de
			"entreprise", "societe", "raison_sociale", // fr
			"empresa", "compania", "organizacion", // es
		},
		"title": {"job_title", "position", "role",
			"ruolo", "mansione", "posizione", "carica", "qualifica", // it
			"stanowisko", "funkcja", // pl
			"funktion", "berufsbezeichnung", "rolle", // de
			"poste", "fonction", // fr
			"cargo", "puesto", // es
		},
		"phone": {"phone_number", "telephone", "tel", "mobile",
			"telefono", "cellulare", "numero_di_telefono", // it, es
			"telefon", "numer_telefonu", "komorka", // pl
			"telefonnummer", "handy", "mobil", // de
			"portable", "numero_de_telephone", // fr
			"movil", "celular", // es
		},
		"met_at": {"met", "met_where", "event", "fair", "trade_fair", "trade_show",
			"fiera", "evento", "incontrato_a", // it
			"targi", "wydarzenie", "miejsce_spotkania", // pl
			"messe", "veranstaltung", // de
			"salon", "evenement", // fr
			"feria", // es
		},
		"first_contact": {"first_contact_date", "contact_date", "date_met", "date_of_first_contact",
			"data_contatto", "data_primo_contatto", "primo_contatto", // it
			"data_kontaktu", "pierwszy_kontakt", "data_pierwszego_kontaktu", // pl
			"erstkontakt", "kontaktdatum", "datum_erstkontakt", // de
			"premier_contact", "date_de_contact", "date_contact", "date_du_premier_contact", // fr
			"primer_contacto", "fecha_de_contacto", "fecha_contacto", "fecha_primer_contacto", // es
		},
		"timezone": {"tz", "time_zone", "fuso_orario", "strefa_czasowa", "zeitzone", "fuseau_horaire", "zona_horaria"},
		"language": {"lang", "lingua", "jezyk", "sprache", "langue", "idioma"},
		"country":  {"paese", "nazione", "kraj", "panstwo", "land", "pays", "pais"},
		"sender":   {"mittente", "nadawca", "absender", "expediteur", "remitente"},
		"notes": {"note", "comments", "comment", "remarks",
			"commenti", "osservazioni", // it
			"uwagi", "notatki", "komentarz", // pl
			"notizen", "bemerkungen", "anmerkungen", "kommentar", // de
			"remarques", "commentaires", // fr
			"notas", "comentarios", "observaciones", // es
		},
		"basis": {"legal_basis", "lawful_basis", "base_giuridica", "podstawa_prawna",
			"rechtsgrundlage", "base_legale", "base_juridica", "base_legal"},
		"basis_date": {"consent_date", "data_consenso", "data_zgody", "einwilligungsdatum",
			"date_consentement", "date_du_consentement", "fecha_consentimiento", "fecha_de_consentimiento"},
		"basis_source": {"consent_source", "fonte_consenso", "zrodlo_zgody", "einwilligungsquelle",
			"source_consentement", "source_du_consentement", "fuente_consentimiento"},
	} {
		for _, n := range names {
			if had, dup := aliases[n]; dup {
				panic("importer: alias " + n + " of both " + had + " and " + target)
			}
			aliases[n] = target
		}
	}
}

// ReasonColumn is the column drip adds to a reject file. A column of that
// name is ignored on import, so a fixed reject file re-imports as it is.
const ReasonColumn = "reason"

// How a column got its meaning (Column.Via).
const (
	ViaName   = "name"   // the contract's column name
	ViaAlias  = "alias"  // a built-in alias ("Data contatto", "Imię", …)
	ViaMap    = "map"    // Options.Map (--map)
	ViaCustom = "custom" // no known name: a custom field
	ViaIgnore = "ignore" // not loaded
)

// Column describes one column of the header.
type Column struct {
	Header  string // as written in the file
	Key     string // normalised name: a known column, or the custom field's key
	Custom  bool   // not a known column: stored in Prospect.Fields[Key]
	Ignored bool   // not loaded: the reason column, a column without a name, or mapped to ignore
	Via     string // how Key was found: ViaName, ViaAlias, ViaMap, ViaCustom or ViaIgnore
	kind    field
}

// normalizeColumn lower-cases a header cell and turns runs of spaces, dashes
// and underscores into one underscore: "E-mail" → "e_mail", "First Name" →
// "first_name". It is the key of a custom field.
func normalizeColumn(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	var b strings.Builder
	b.Grow(len(h))
	sep := false
	for _, r := range h {
		if r == ' ' || r == '-' || r == '_' || r == '\t' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('_')
		}
		sep = false
		b.WriteRune(r)
	}
	return b.String()
}

// foldColumn is normalizeColumn without accents and with dots and slashes
// as separators too, for matching names: "Imię" → "imie", "Società" →
// "societa", "N. telefono" → "n_telefono", "Ruolo / Posizione" →
// "ruolo_posizione".
func foldColumn(h string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(strings.TrimSpace(h))) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == '.' || r == '/' || r == ':':
			b.WriteByte(' ')
		default:
			if f, ok := foldSpecial[r]; ok {
				b.WriteString(f)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return normalizeColumn(b.String())
}

// foldSpecial are letters that do not decompose into a base and a mark.
var foldSpecial = map[rune]string{'ł': "l", 'ß': "ss", 'ø': "o", 'æ': "ae", 'œ': "oe", 'đ': "d"}

// MapIgnore is the target of a mapping that leaves a column out.
const MapIgnore = "ignore"

// mapFieldPrefix targets a custom field: "Stand=field:booth".
const mapFieldPrefix = "field:"

// ParseMap reads a --map value: "Header=column,Header=column,…", where
// column is one of the contract's columns, "ignore", or "field:NAME" for a
// custom field. Headers are matched like column names (case, accents and
// separators ignored).
func ParseMap(spec string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(spec, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		h, target, ok := strings.Cut(part, "=")
		h, target = strings.TrimSpace(h), strings.TrimSpace(target)
		if !ok || h == "" || target == "" {
			return nil, fmt.Errorf("mapping %q: want Header=column", strings.TrimSpace(part))
		}
		if err := checkMapTarget(target); err != nil {
			return nil, fmt.Errorf("mapping %q: %w", strings.TrimSpace(part), err)
		}
		out[h] = target
	}
	return out, nil
}

func checkMapTarget(target string) error {
	if name, ok := strings.CutPrefix(target, mapFieldPrefix); ok {
		if normalizeColumn(name) == "" {
			return errors.New("field: needs a name")
		}
		return nil
	}
	if _, ok := knownColumns[target]; ok || target == MapIgnore || slices.Contains(contractOnly, target) {
		return nil
	}
	return fmt.Errorf("%q is not a column (want one of %s, ignore, or field:NAME)", target, strings.Join(ColumnNames(), ", "))
}

// ColumnNames are the contract's column names, in its order.
func ColumnNames() []string {
	return []string{"email", "first_name", "last_name", "company", "title", "phone", "met_at", "first_contact",
		"timezone", "language", "country", "sender", "notes", "basis", "basis_date", "basis_source"}
}

// columnsFor maps the header record to columns, or says why it cannot be
// imported. line is the header's line in the file; mapping is Options.Map.
func columnsFor(header []string, mapping map[string]string, file string, line int) ([]Column, error) {
	mapped := make(map[string]string, len(mapping)) // folded header -> target
	for h, target := range mapping {
		if err := checkMapTarget(target); err != nil {
			return nil, fmt.Errorf("mapping %q: %w", h, err)
		}
		mapped[foldColumn(h)] = target
	}
	used := map[string]bool{}
	cols := make([]Column, len(header))
	seen := make(map[string]int, len(header))
	hasEmail := false
	for i, h := range header {
		c := columnFor(h, mapped)
		if _, ok := mapped[foldColumn(h)]; ok {
			used[foldColumn(h)] = true
		}
		cols[i] = c
		if c.Ignored {
			continue
		}
		if j, dup := seen[c.Key]; dup {
			return nil, fmt.Errorf("%s:%d: duplicate column %q: column %d (%q) and column %d (%q) (map one of them elsewhere, or to ignore)",
				file, line, c.Key, j+1, header[j], i+1, h)
		}
		seen[c.Key] = i
		hasEmail = hasEmail || c.kind == fieldEmail
	}
	for h := range mapping {
		if !used[foldColumn(h)] {
			return nil, fmt.Errorf("%s:%d: the mapping names column %q, which the header does not have (found %s)", file, line, h, listHeader(header))
		}
	}
	if !hasEmail {
		return nil, fmt.Errorf("%s:%d: no email column in the header (found %s; name one with a mapping such as 'Mail=email')", file, line, listHeader(header))
	}
	return cols, nil
}

// columnFor understands one header cell.
func columnFor(h string, mapped map[string]string) Column {
	key, folded := normalizeColumn(h), foldColumn(h)
	c := Column{Header: h, Key: key, Via: ViaName}
	if target, ok := mapped[folded]; ok {
		c.Via = ViaMap
		if name, isField := strings.CutPrefix(target, mapFieldPrefix); isField {
			c.Key, c.Custom, c.kind = normalizeColumn(name), true, fieldCustom
			return c
		}
		key = target
	} else if _, ok := knownColumns[key]; !ok && !slices.Contains(contractOnly, key) {
		if a, ok := aliases[folded]; ok {
			key, c.Via = a, ViaAlias
		} else if _, ok := knownColumns[folded]; ok || slices.Contains(contractOnly, folded) {
			key, c.Via = folded, ViaAlias
		}
	}
	c.Key = key
	switch kind, known := knownColumns[key]; {
	case key == "" || key == ReasonColumn || key == MapIgnore && c.Via == ViaMap:
		c.Ignored, c.kind, c.Via = true, fieldIgnored, ViaIgnore
	case known:
		c.kind = kind
	default:
		c.Custom, c.kind = true, fieldCustom
		if c.Via == ViaName && !slices.Contains(contractOnly, key) {
			c.Via = ViaCustom
		}
	}
	return c
}

// listHeader quotes the first few header cells for an error message.
func listHeader(header []string) string {
	const most = 8
	var q []string
	for i, h := range header {
		if i == most {
			q = append(q, fmt.Sprintf("and %d more", len(header)-most))
			break
		}
		q = append(q, fmt.Sprintf("%q", strings.TrimSpace(h)))
	}
	return strings.Join(q, ", ")
}

// detectDelimiter looks at the start of the decoded text (head; atEOF when
// that is the whole file) and picks the delimiter of the header row: the
// one of ',' ';' and tab that occurs most often outside quotes. An Excel
// "sep=;" line in front of the header names it explicitly (sepLine).
func detectDelimiter(head []byte, atEOF bool, file string) (comma rune, sepLine bool, err error) {
	// Skip blank lines, as encoding/csv does.
	for {
		nl := bytes.IndexByte(head, '\n')
		if nl < 0 || len(bytes.TrimSpace(head[:nl])) > 0 {
			break
		}
		head = head[nl+1:]
	}
	if first, _, _ := bytes.Cut(head, []byte("\n")); len(first) > 0 {
		first = bytes.TrimRight(first, "\r")
		if len(first) == 5 && strings.EqualFold(string(first[:4]), "sep=") && bytes.IndexByte([]byte(",;\t|"), first[4]) >= 0 {
			return rune(first[4]), true, nil
		}
	}
	var commas, semis, tabs int
	inQuote, ended := false, false
	for _, c := range head {
		if c == '"' {
			inQuote = !inQuote // a doubled quote toggles twice
			continue
		}
		if inQuote {
			continue
		}
		if c == '\n' {
			ended = true
			break
		}
		switch c {
		case ',':
			commas++
		case ';':
			semis++
		case '\t':
			tabs++
		}
	}
	if !ended && !atEOF {
		return 0, false, fmt.Errorf("%s: the header row is longer than %d KiB", file, bufSize>>10)
	}
	switch {
	case semis > commas && semis >= tabs:
		return ';', false, nil
	case tabs > commas && tabs > semis:
		return '\t', false, nil
	}
	return ',', false, nil
}
