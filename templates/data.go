// Package templates loads, validates and renders the step templates of a
// sequence: NN.txt (a Subject: line, a blank line, a text/template body) and
// an optional NN.html beside it (html/template).
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
