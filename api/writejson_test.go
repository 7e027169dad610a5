package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestWriteJSONNeverSwallowsAnEncodingError: a value that cannot be
// encoded answers 500 with an error body, not a 2xx with nothing.
func TestWriteJSONNeverSwallowsAnEncodingError(t *testing.T) {
	rec := httptest.NewRecorder()
	writeJSON(rec, http.StatusCreated, map[string]any{"next_send_at": time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"error"`) {
		t.Fatalf("status %d, body %q; want 500 with an error", rec.Code, rec.Body.String())
	}
}
