package configs

// Country calendars of github.com/rickar/cal/v2: each package's national
// Holidays list. Keys are ISO 3166 alpha-2 codes, lower case.

import (
	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/ar"
	"github.com/rickar/cal/v2/at"
	"github.com/rickar/cal/v2/be"
	"github.com/rickar/cal/v2/bg"
	"github.com/rickar/cal/v2/br"
	"github.com/rickar/cal/v2/ca"
	"github.com/rickar/cal/v2/ch"
	"github.com/rickar/cal/v2/cy"
	"github.com/rickar/cal/v2/cz"
	"github.com/rickar/cal/v2/de"
	"github.com/rickar/cal/v2/dk"
	"github.com/rickar/cal/v2/ee"
	"github.com/rickar/cal/v2/es"
	"github.com/rickar/cal/v2/fi"
	"github.com/rickar/cal/v2/fr"
	"github.com/rickar/cal/v2/gb"
	"github.com/rickar/cal/v2/gr"
	"github.com/rickar/cal/v2/hr"
	"github.com/rickar/cal/v2/hu"
	"github.com/rickar/cal/v2/ie"
	"github.com/rickar/cal/v2/is"
	"github.com/rickar/cal/v2/it"
	"github.com/rickar/cal/v2/jp"
	"github.com/rickar/cal/v2/ke"
	"github.com/rickar/cal/v2/lt"
	"github.com/rickar/cal/v2/lu"
	"github.com/rickar/cal/v2/lv"
	"github.com/rickar/cal/v2/mt"
	"github.com/rickar/cal/v2/mw"
	"github.com/rickar/cal/v2/mx"
	"github.com/rickar/cal/v2/nc"
	"github.com/rickar/cal/v2/nl"
	"github.com/rickar/cal/v2/no"
	"github.com/rickar/cal/v2/nz"
	"github.com/rickar/cal/v2/pl"
	"github.com/rickar/cal/v2/pt"
	"github.com/rickar/cal/v2/ro"
	"github.com/rickar/cal/v2/rs"
	"github.com/rickar/cal/v2/ru"
	"github.com/rickar/cal/v2/se"
	"github.com/rickar/cal/v2/si"
	"github.com/rickar/cal/v2/sk"
	"github.com/rickar/cal/v2/th"
	"github.com/rickar/cal/v2/ua"
	"github.com/rickar/cal/v2/us"
	"github.com/rickar/cal/v2/za"
)

var countryCalendars = map[string][]*cal.Holiday{
	"ar": ar.Holidays,
	"at": at.Holidays,
	"be": be.Holidays,
	"bg": bg.Holidays,
	"br": br.Holidays,
	"ca": ca.Holidays,
	"ch": ch.Holidays,
	"cy": cy.Holidays,
	"cz": cz.Holidays,
	"de": de.Holidays,
	"dk": dk.Holidays,
	"ee": ee.Holidays,
	"es": es.Holidays,
	"fi": fi.Holidays,
	"fr": fr.Holidays,
	"gb": gb.Holidays,
	"gr": gr.Holidays,
	"hr": hr.Holidays,
	"hu": hu.Holidays,
	"ie": ie.Holidays,
	"is": is.Holidays,
	"it": it.Holidays,
	"jp": jp.Holidays,
	"ke": ke.Holidays,
	"lt": lt.Holidays,
	"lu": lu.Holidays,
	"lv": lv.Holidays,
	"mt": mt.Holidays,
	"mw": mw.Holidays,
	"mx": mx.Holidays,
	"nc": nc.Holidays,
	"nl": nl.Holidays,
	"no": no.Holidays,
	"nz": nz.Holidays,
	"pl": pl.Holidays,
	"pt": pt.Holidays,
	"ro": ro.Holidays,
	"rs": rs.Holidays,
	"ru": ru.Holidays,
	"se": se.Holidays,
	"si": si.Holidays,
	"sk": sk.Holidays,
	"th": th.Holidays,
	"ua": ua.Holidays,
	"us": us.Holidays,
	"za": za.Holidays,
}
