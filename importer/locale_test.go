package importer

import (
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"
)

// The exports of issue 17, as Excel writes them in an Italian and a Polish
// office: the local column names, ';', CRLF, DD.MM.YYYY and DD/MM/YYYY
// HH:MM dates, and the names that break when the encoding is wrong.
const (
	italianExport = "Email;Nome;Cognome;Azienda;Ruolo;Fiera;Data contatto;Note;Stand\r\n" +
		"giulia.esposito@example.it;Giulia;Esposito;Caffè Città S.r.l.;Direttrice acquisti;EIMA Bologna;24/11/2026 10:30;\"Vuole il listino,\r\nrichiamare a gennaio\";B12\r\n" +
		"niccolo@example.it;Niccolò;Perché;Società Agricola;Titolare;Fiera di Verona;23.11.2026;;C3\r\n"
	polishExport = "E-mail;Imię;Nazwisko;Firma;Stanowisko;Targi;Data kontaktu;Uwagi\r\n" +
		"zolc@example.pl;Żaneta;Żółć;Łódzkie Zakłady Mięsne;Kierownik działu;Targi Kielce;24.11.2026;Wąsik, ś, ź\r\n" +
		"anna@example.pl;Anna;Wiśniewska;Pszczółka sp. z o.o.;Dyrektor;Poznań;46350;\r\n"
)

func encode(t *testing.T, cm *charmap.Charmap, s string) string {
	t.Helper()
	b, err := cm.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encoding the fixture in %v: %v", cm, err)
	}
	return string(b)
}

func TestLocalExports(t *testing.T) {
	bom := "\xef\xbb\xbf"
	for _, tc := range []struct {
		name, input, encoding, wantEnc string
		polish                         bool
	}{
		{"Italian, windows-1252, detected", encode(t, charmap.Windows1252, italianExport), "", "windows-1252 (detected)", false},
		{"Italian, windows-1252, given", encode(t, charmap.Windows1252, italianExport), "windows-1252", "windows-1252 (given)", false},
		{"Italian, UTF-8 with BOM", bom + italianExport, "", "utf-8 (byte order mark)", false},
		{"Polish, windows-1250, detected", encode(t, charmap.Windows1250, polishExport), "", "windows-1250 (detected)", true},
		{"Polish, windows-1250, given", encode(t, charmap.Windows1250, polishExport), "cp1250", "windows-1250 (given)", true},
		{"Polish, iso-8859-2, detected", encode(t, charmap.ISO8859_2, polishExport), "", "iso-8859-2 (detected)", true},
		{"Polish, UTF-8 with BOM", bom + polishExport, "", "utf-8 (byte order mark)", true},
		{"Polish, UTF-8", polishExport, "", "utf-8 (detected)", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions()
			opts.Encoding = tc.encoding
			var mapping Mapping
			opts.OnMapping = func(m Mapping) { mapping = m }
			sink := newMemSink()
			sum, _, err := importString(t, tc.input, opts, sink)
			if err != nil || sum.String() != "imported=2 updated=0 rejected=0" {
				t.Fatalf("%v %v %v", sum, sum.Rejects, err)
			}
			if got := mapping.Encoding.String(); got != tc.wantEnc {
				t.Errorf("encoding %q, want %q", got, tc.wantEnc)
			}
			if mapping.Delimiter != ';' || !slices.Equal(sum.Mapping.Columns, mapping.Columns) {
				t.Errorf("mapping %+v, summary's %+v", mapping, sum.Mapping)
			}
			if tc.polish {
				z := sink.get(t, "zolc@example.pl")
				p := z.Prospect
				if p.FirstName != "Żaneta" || p.LastName != "Żółć" || p.Company != "Łódzkie Zakłady Mięsne" ||
					p.Title != "Kierownik działu" || p.MetAt != "Targi Kielce" || p.Notes != "Wąsik, ś, ź" {
					t.Errorf("Polish row read as %q %q %q %q %q %q", p.FirstName, p.LastName, p.Company, p.Title, p.MetAt, p.Notes)
				}
				if want := time.Date(2026, 11, 24, 0, 0, 0, 0, rome); !z.FirstContact.Equal(want) || !z.FirstContactGiven {
					t.Errorf("first contact %v, want %v", z.FirstContact, want)
				}
				if a := sink.get(t, "anna@example.pl"); a.Prospect.LastName != "Wiśniewska" || !a.FirstContact.Equal(time.Date(2026, 11, 24, 0, 0, 0, 0, rome)) {
					t.Errorf("Anna %q, first contact (Excel serial) %v", a.Prospect.LastName, a.FirstContact)
				}
				return
			}
			g := sink.get(t, "giulia.esposito@example.it")
			p := g.Prospect
			if p.FirstName != "Giulia" || p.Company != "Caffè Città S.r.l." || p.Title != "Direttrice acquisti" ||
				p.MetAt != "EIMA Bologna" || p.Notes != "Vuole il listino,\nrichiamare a gennaio" || p.Fields["stand"] != "B12" {
				t.Errorf("Italian row read as %+v", p)
			}
			if want := time.Date(2026, 11, 24, 10, 30, 0, 0, rome); !g.FirstContact.Equal(want) {
				t.Errorf("first contact %v, want %v", g.FirstContact, want)
			}
			n := sink.get(t, "niccolo@example.it")
			if n.Prospect.FirstName != "Niccolò" || n.Prospect.LastName != "Perché" || !n.FirstContact.Equal(time.Date(2026, 11, 23, 0, 0, 0, 0, rome)) {
				t.Errorf("Niccolò: %q %q %v", n.Prospect.FirstName, n.Prospect.LastName, n.FirstContact)
			}
		})
	}
}

// The mapping report names every column and how it was understood.
func TestMappingReport(t *testing.T) {
	opts := testOptions()
	opts.Map = map[string]string{"STOISKO": "field:booth", "Źródło": "basis_source", "Kolumna X": "ignore"}
	r, err := NewReader(strings.NewReader(encode(t, charmap.Windows1250,
		"Adres e-mail;IMIĘ;nazwisko;Data kontaktu;Stoisko;Źródło;Kolumna X;Wielkość firmy;reason;;Język\r\n")), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := `leads.csv: windows-1250 (detected), delimiter ';', 11 columns
  "Adres e-mail"   -> email (alias)
  "IMIĘ"           -> first_name (alias)
  "nazwisko"       -> last_name (alias)
  "Data kontaktu"  -> first_contact (alias)
  "Stoisko"        -> booth (map, custom field)
  "Źródło"         -> basis_source (map, custom field)
  "Kolumna X"      -> ignored (mapped)
  "Wielkość firmy" -> custom field wielkość_firmy
  "reason"         -> ignored (a reject file's reason)
  ""               -> ignored (no name)
  "Język"          -> language (alias)
`
	if got := r.Mapping().Report(); got != want {
		t.Errorf("report\n%s\nwant\n%s", got, want)
	}
}

func TestAliasesInEveryLanguage(t *testing.T) {
	for header, want := range map[string]string{
		"E-Mail": "email", "Courriel": "email", "Correo electrónico": "email", "Indirizzo e-mail": "email",
		"Vorname": "first_name", "Prénom": "first_name", "Nombre": "first_name", "Imię": "first_name", "NOME": "first_name",
		"Nachname": "last_name", "Nom": "last_name", "Apellidos": "last_name", "Cognome": "last_name",
		"Société": "company", "Unternehmen": "company", "Empresa": "company", "Ragione sociale": "company",
		"Poste": "title", "Puesto": "title", "Ruolo": "title", "Stanowisko": "title",
		"Téléphone": "phone", "Telefonnummer": "phone", "Teléfono": "phone",
		"Fiera": "met_at", "Targi": "met_at", "Messe": "met_at", "Salon": "met_at", "Feria": "met_at",
		"Data contatto": "first_contact", "Data kontaktu": "first_contact", "Erstkontakt": "first_contact",
		"Date de contact": "first_contact", "Fecha de contacto": "first_contact",
		"Note": "notes", "Uwagi": "notes", "Bemerkungen": "notes", "Remarques": "notes", "Observaciones": "notes",
		"Fuso orario": "timezone", "Strefa czasowa": "timezone", "Zeitzone": "timezone",
		"Lingua": "language", "Język": "language", "Sprache": "language", "Idioma": "language",
		"Paese": "country", "Państwo": "country", "Pays": "country", "País": "country",
		"Base giuridica": "basis", "Podstawa prawna": "basis", "Data consenso": "basis_date",
		"FIRST_NAME": "first_name", "First-Contact": "first_contact",
	} {
		c := columnFor(header, nil)
		if c.Key != want || c.Ignored {
			t.Errorf("%q -> %q (%s), want %q", header, c.Key, c.Via, want)
		}
	}
}

func TestMapOption(t *testing.T) {
	m, err := ParseMap("Data contatto=first_contact, Fiera=met_at,Stand=field:booth,Vecchio=ignore")
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 4 || m["Fiera"] != "met_at" || m["Stand"] != "field:booth" {
		t.Errorf("ParseMap: %v", m)
	}
	for spec, want := range map[string]string{
		"Fiera":               `mapping "Fiera": want Header=column`,
		"Fiera=fair":          `mapping "Fiera=fair": "fair" is not a column (want one of email, first_name,`,
		"Fiera=field:":        `mapping "Fiera=field:": field: needs a name`,
		"=met_at":             `mapping "=met_at": want Header=column`,
		"Data contatto=first": `"first" is not a column`,
	} {
		if _, err := ParseMap(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMap(%q): %v, want %q", spec, err, want)
		}
	}

	// The map wins over an alias; a header the file lacks is an error.
	opts := testOptions()
	opts.Map = map[string]string{"fiera": "notes", "Contatto": "email"}
	if _, err := NewReader(strings.NewReader("Contatto;Fiera;Note\n"), opts); err == nil || !strings.Contains(err.Error(), `duplicate column "notes"`) {
		t.Errorf("Fiera and Note both as notes: %v", err)
	}
	opts.Map = map[string]string{"fiera": "notes", "Contatto": "email", "Note": "ignore"}
	rows := readAll(t, "Contatto;Fiera;Note\na@example.it;EIMA;x\n", opts)
	if len(rows) != 1 || rows[0].Prospect.Email != "a@example.it" || rows[0].Prospect.Notes != "EIMA" || rows[0].Prospect.MetAt != "" {
		t.Errorf("mapped row %+v", rows)
	}
	opts.Map = map[string]string{"Booth": "field:booth"}
	if _, err := NewReader(strings.NewReader("email;Stand\n"), opts); err == nil ||
		err.Error() != `leads.csv:1: the mapping names column "Booth", which the header does not have (found "email", "Stand")` {
		t.Errorf("missing mapped column: %v", err)
	}
}
