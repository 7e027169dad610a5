package inbound

import "testing"

func TestLeftCompany(t *testing.T) {
	cases := []struct {
		text        string
		left        bool
		email, name string
	}{
		// it
		{"Mario Rossi non lavora più presso la nostra azienda. Per favore contattare Giulia Bianchi (giulia.bianchi@acme.it).", true, "giulia.bianchi@acme.it", "Giulia Bianchi"},
		{"La persona che cercate non fa più parte di Acme S.p.A.; scrivete a info@acme.it.", true, "", ""},
		{"Ho lasciato l'azienda. Per le questioni commerciali rivolgersi a Luca Verdi: luca.verdi@acme.it", true, "luca.verdi@acme.it", "Luca Verdi"},
		// pl
		{"Jan Kowalski nie pracuje już w firmie. W sprawach handlowych prosimy o kontakt z Anną Nowak: anna.nowak@firma.pl", true, "anna.nowak@firma.pl", "Anną Nowak"},
		{"Uprzejmie informujemy, że pani Ewa Zielińska nie jest już pracownikiem naszej firmy.", true, "", ""},
		// en
		{"Thank you for your email. John Smith is no longer with Acme Corp. Please contact Sarah Jones at sarah.jones@acme.com.", true, "sarah.jones@acme.com", "Sarah Jones"},
		{"I have left the company. Please direct your enquiries to my successor, Tom Baker <tbaker@acme.co.uk>.", true, "tbaker@acme.co.uk", "Tom Baker"},
		{"Please note that Jane is no longer working at Acme. Please contact Peter Brown instead.", true, "", "Peter Brown"},
		// de
		{"Herr Müller ist nicht mehr im Unternehmen tätig. Bitte wenden Sie sich an Frau Petra Schmidt, petra.schmidt@firma.de.", true, "petra.schmidt@firma.de", "Petra Schmidt"},
		{"Ich habe das Unternehmen verlassen. Ihre Nachricht wird nicht weitergeleitet.", true, "", ""},
		// fr
		{"M. Dupont ne fait plus partie de la société. Merci de contacter Claire Martin : claire.martin@societe.fr", true, "claire.martin@societe.fr", "Claire Martin"},
		{"J'ai quitté l'entreprise le 31 juillet.", true, "", ""},
		// es
		{"Pedro García ya no trabaja en la empresa. Por favor, contacte con Lucía Fernández (lucia.fernandez@empresa.es).", true, "lucia.fernandez@empresa.es", "Lucía Fernández"},
		{"He dejado la empresa. Para cualquier consulta escriba a ventas@empresa.es.", true, "", ""},
		// A personal mailbox that says it is dead; the address in the
		// sentence is the dead one, not a successor (sisimai rfc3834-06).
		{"This email inbox kijitora@example.com is no longer in use. Please contact someone else at Example or visit https://www.example.com/en/contact for assistance.", true, "", ""},
		{"This mailbox is no longer monitored. Please write to Anna Nowak <anna.nowak@acme.com>.", true, "anna.nowak@acme.com", "Anna Nowak"},
		// Ordinary out-of-office mail: never "left".
		{"This mailbox is not monitored while I am away; for urgent matters write to sarah.jones@acme.com.", false, "", ""},
		{"I am out of the office until 14 August. For urgent matters please contact Sarah Jones at sarah.jones@acme.com.", false, "", ""},
		{"Sono in ferie e non più raggiungibile fino al 24 agosto.", false, "", ""},
		{"Ich bin heute nicht mehr erreichbar. Ab morgen wieder im Büro.", false, "", ""},
		{"I am no longer in the office today and will reply tomorrow.", false, "", ""},
		{"Je ne suis plus au bureau aujourd'hui, de retour lundi.", false, "", ""},
		{"Nie ma mnie w biurze, wracam 17 sierpnia.", false, "", ""},
		{"Ya no estoy en la oficina hoy; vuelvo mañana.", false, "", ""},
	}
	for _, c := range cases {
		d, left := LeftCompany(c.text, "old.person@acme.com")
		if left != c.left {
			t.Errorf("%q: left = %v, want %v", c.text, left, c.left)
			continue
		}
		if d.Successor.Email != c.email || d.Successor.Name != c.name {
			t.Errorf("%q: successor %+v, want %q %q", c.text, d.Successor, c.email, c.name)
		}
		if left && d.Text == "" {
			t.Errorf("%q: no source text", c.text)
		}
	}
}

// The departed person's own address, quoted in the auto-reply, is never
// their successor.
func TestLeftCompanyOwnAddressIsNotTheSuccessor(t *testing.T) {
	d, ok := LeftCompany("Mark Twain (mark.twain@acme.com) is no longer with Acme. Please write to Ann Lee <ann.lee@acme.com>.", "mark.twain@acme.com")
	if !ok || d.Successor.Email != "ann.lee@acme.com" || d.Successor.Name != "Ann Lee" {
		t.Errorf("got %+v %v", d, ok)
	}
}
