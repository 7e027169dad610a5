package main

import (
	"bytes"
	"testing"
)

// decodeMessage undoes base64 as well as quoted-printable, B as well as
// Q encoded words; the decoded text goes through termSafe.
func TestDecodeMessageBase64AndBWords(t *testing.T) {
	raw := "From: =?utf-8?b?WsOzZmlh?= <z@example.pl>\r\n" +
		"Subject: =?utf-8?b?xbvDs8WCdyBpIMW6ZMW6YsWCbw==?=\r\n" +
		"Mime-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" +
		"RHppZcWEIGRvYnJ5LCDFu8OzxYLEhwobWzMxbWJhZA==\r\n"
	got, err := decodeMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	var safe bytes.Buffer
	if _, err := (termSafe{&safe}).Write(got); err != nil {
		t.Fatal(err)
	}
	want := "From: Zófia <z@example.pl>\nSubject: Żółw i źdźbło\nContent-Type: text/plain; charset=utf-8\n\nDzień dobry, Żółć\n?[31mbad"
	if safe.String() != want {
		t.Errorf("decoded:\n%q\nwant:\n%q", safe.String(), want)
	}
	if _, err := decodeMessage([]byte("Subject: x\r\n")); err == nil {
		t.Error("a message without a body decoded")
	}
}
