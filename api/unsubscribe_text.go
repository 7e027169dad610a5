package api

import (
	"net/http"
	"strings"

	"github.com/drip-email/drip/templates"
)

// The unsubscribe page speaks the prospect's language (its language
// field); a link drip cannot tie to a prospect speaks the browser's
// (Accept-Language); English otherwise.

// pageText is every sentence of the unsubscribe page in one language.
// Confirm, Done and Already take the masked address.
type pageText struct {
	Lang                           string
	InvalidTitle, Invalid          string
	ConfirmTitle, Confirm, Button  string
	DoneTitle, Done, Already, Gone string
	FailedTitle, Failed            string
}

var pageTexts = map[string]pageText{
	"en": {Lang: "en",
		InvalidTitle: "Link not valid",
		Invalid:      "This unsubscribe link is not valid. Please use the link from the email exactly as it was sent.",
		ConfirmTitle: "Unsubscribe", Confirm: "Stop the emails to %s? Confirm with the button below.", Button: "Unsubscribe",
		DoneTitle: "Unsubscribed", Done: "You are unsubscribed and will get no more emails from us.",
		Already:     "You are unsubscribed: %s gets no more emails from us.",
		Gone:        "This address is not on our lists any more.",
		FailedTitle: "Something went wrong", Failed: "We could not process the request. Please try again in a few minutes.",
	},
	"it": {Lang: "it",
		InvalidTitle: "Link non valido",
		Invalid:      "Questo link di disiscrizione non è valido. Usi il link dell'email esattamente com'è arrivato.",
		ConfirmTitle: "Disiscrizione", Confirm: "Non vuole più ricevere email all'indirizzo %s? Confermi con il pulsante qui sotto.", Button: "Annulla l'iscrizione",
		DoneTitle: "Iscrizione annullata", Done: "La sua iscrizione è stata annullata: non riceverà più email da noi.",
		Already:     "Iscrizione già annullata: %s non riceve più email da noi.",
		Gone:        "Questo indirizzo non è più nei nostri elenchi.",
		FailedTitle: "Si è verificato un problema", Failed: "Non siamo riusciti a completare la richiesta. La preghiamo di riprovare tra qualche minuto.",
	},
	"pl": {Lang: "pl",
		InvalidTitle: "Nieprawidłowy link",
		Invalid:      "Ten link do wypisania się jest nieprawidłowy. Proszę użyć linku z wiadomości dokładnie w takiej postaci, w jakiej przyszedł.",
		ConfirmTitle: "Wypisanie z listy", Confirm: "Zrezygnować z wiadomości na adres %s? Proszę potwierdzić przyciskiem poniżej.", Button: "Wypisz mnie",
		DoneTitle: "Wypisano z listy", Done: "Adres został wypisany. Nie będą Państwo dostawać od nas więcej wiadomości.",
		Already:     "Adres %s jest już wypisany i nie dostaje od nas wiadomości.",
		Gone:        "Tego adresu nie ma już na naszych listach.",
		FailedTitle: "Coś poszło nie tak", Failed: "Nie udało się obsłużyć prośby. Proszę spróbować ponownie za kilka minut.",
	},
}

// textFor is the page text for a prospect language, "" for none.
func textFor(lang string) (pageText, bool) {
	t, ok := pageTexts[templates.LanguageKey(lang)]
	return t, ok
}

// pageLanguage is the text for a prospect's language, else the browser's
// first language drip has, else English.
func pageLanguage(r *http.Request, prospectLang string) pageText {
	if t, ok := textFor(prospectLang); ok {
		return t
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(part, ";")
		if t, ok := textFor(tag); ok {
			return t
		}
	}
	return pageTexts["en"]
}
