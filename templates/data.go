// Package templates loads, validates and renders the step templates of a
// sequence: NN.txt (a Subject: line, a blank line, a text/template body) and
// an optional NN.html beside it (html/template).
//
// Templates see Data and may call the few functions listed on Funcs: date,
// dateIn (month and weekday names in en, it, pl, de, fr, es), default,
// upper and lower. A missing key is an error, never a blank: LoadSet
// refuses a template that reads a field Data lacks or a custom field the
// sequence does not declare, and Check renders every step with SampleData.
package templates

import "time"

// Data is what a step template sees.
type Data struct {
	Prospect       Prospect
	Sender         Sender
	Step           int
	Steps          int
	UnsubscribeURL string
}

// Prospect as templates see it.
type Prospect struct {
	Email        string
	FirstName    string
	LastName     string
	Company      string
	Title        string
	Phone        string
	MetAt        string
	Language     string
	FirstContact time.Time // in the prospect's time zone
	Fields       map[string]string
}

// Sender as templates see it.
type Sender struct {
	Name     string // the config name, e.g. "maria"
	FromName string // display name of the From address, e.g. "Maria Rossi"
	Email    string // e.g. "maria@example.com"
}

// Rendered is one step rendered for one prospect.
type Rendered struct {
	Subject string
	Text    string
	HTML    string // "" without an NN.html
}
