package api

import (
	"fmt"
	"io"
	"os"
)

// spooled is a request body written to a temporary file, removed on Close.
type spooled struct{ *os.File }

func (s spooled) Close() error {
	err := s.File.Close()
	_ = os.Remove(s.Name())
	return err
}

// spool reads body to its end into a temporary file (a list may be tens
// of MiB; memory is not the place) and returns it rewound. It fails with
// body's error, a *http.MaxBytesError past the cap.
func spool(body io.Reader) (io.ReadCloser, error) {
	f, err := os.CreateTemp("", "drip-import-*.csv")
	if err != nil {
		return nil, fmt.Errorf("spooling the list: %w", err)
	}
	s := spooled{f}
	if _, err := io.Copy(f, body); err != nil {
		s.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		s.Close()
		return nil, fmt.Errorf("spooling the list: %w", err)
	}
	return s, nil
}
