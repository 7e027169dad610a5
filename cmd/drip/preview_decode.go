package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/emersion/go-message"
)

// decodeMessage is a built message as a person reads it: the header
// fields in their order with RFC 2047 words decoded (Subject, names in
// From and To), then each text part's body with its transfer encoding
// (quoted-printable, base64) undone, under a line naming its type when
// there are several. Line ends are LF. Mime-Version and
// Content-Transfer-Encoding, which only say how the wire form is made,
// are left out; --raw shows them.
func decodeMessage(raw []byte) ([]byte, error) {
	head, _, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		return nil, errors.New("decoding the preview: the message has no body")
	}
	var out bytes.Buffer
	dec := new(mime.WordDecoder)
	for _, field := range unfold(string(head)) {
		name, value, _ := strings.Cut(field, ":")
		switch strings.ToLower(name) {
		case "mime-version", "content-transfer-encoding":
			continue
		}
		if d, err := dec.DecodeHeader(strings.TrimSpace(value)); err == nil {
			value = " " + d
		}
		if strings.EqualFold(name, "Content-Type") {
			value = " " + mediaType(value)
		}
		fmt.Fprintf(&out, "%s:%s\n", name, value)
	}
	out.WriteString("\n")

	ent, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("decoding the preview: %w", err)
	}
	mr := ent.MultipartReader()
	if mr == nil {
		if err := writeBody(&out, ent.Body); err != nil {
			return nil, err
		}
		return out.Bytes(), nil
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("decoding the preview: %w", err)
		}
		fmt.Fprintf(&out, "--- %s ---\n", mediaType(part.Header.Get("Content-Type")))
		if err := writeBody(&out, part.Body); err != nil {
			return nil, err
		}
		if !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
			out.WriteString("\n")
		}
	}
	return out.Bytes(), nil
}

// unfold joins the continuation lines of a header block to their field.
func unfold(head string) []string {
	var fields []string
	for _, line := range strings.Split(head, "\r\n") {
		if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && len(fields) > 0 {
			fields[len(fields)-1] += line
			continue
		}
		fields = append(fields, line)
	}
	return fields
}

func writeBody(out *bytes.Buffer, body io.Reader) error {
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("decoding the preview: %w", err)
	}
	out.Write(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")))
	return nil
}

// mediaType is a Content-Type without its boundary: the type, and the
// charset when there is one.
func mediaType(v string) string {
	t, params, err := mime.ParseMediaType(v)
	if err != nil {
		return strings.TrimSpace(v)
	}
	if cs := params["charset"]; cs != "" {
		return t + "; charset=" + cs
	}
	return t
}
