package importer

import (
	"testing"
	"time"
)

func TestCheckBasis(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in     map[string]string
		want   map[string]string
		reason string
	}{
		{map[string]string{}, map[string]string{}, ""},
		{map[string]string{"basis": "", "basis_date": "", "basis_source": ""}, map[string]string{}, ""},
		{map[string]string{"basis": "Consent"}, map[string]string{"basis": "consent"}, ""},
		{map[string]string{"basis": "zgoda", "basis_date": "20.11.2026", "basis_source": "EIMA"},
			map[string]string{"basis": "consent", "basis_date": "2026-11-20", "basis_source": "EIMA"}, ""},
		{map[string]string{"basis": "Cliente", "basis_date": "20/11/2026 10:30"}, map[string]string{"basis": "customer", "basis_date": "2026-11-20"}, ""},
		{map[string]string{"basis": "Legittimo interesse"}, map[string]string{"basis": "legitimate_interest"}, ""},
		{map[string]string{"basis": "legitimate-interest"}, map[string]string{"basis": "legitimate_interest"}, ""},
		{map[string]string{"basis": "contract"}, nil, `basis "contract": use consent, customer or legitimate_interest`},
		{map[string]string{"basis_source": "EIMA"}, nil, "basis_date or basis_source given without a basis (consent, customer or legitimate_interest)"},
		{map[string]string{"basis": "consent", "basis_date": "yesterday"}, nil, `basis_date "yesterday" is not a valid date (want ` + DateFormats + ")"},
		{map[string]string{"basis": "consent", "basis_date": "2027-01-01"}, nil, `basis_date "2027-01-01" is in the future`},
	} {
		got := map[string]string{}
		for k, v := range tc.in {
			got[k] = v
		}
		reason := CheckBasis(got, now)
		if reason != tc.reason {
			t.Errorf("%v: reason %q, want %q", tc.in, reason, tc.reason)
			continue
		}
		if tc.want == nil {
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%v: got %v, want %v", tc.in, got, tc.want)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%v: got %v, want %v", tc.in, got, tc.want)
			}
		}
	}
}
