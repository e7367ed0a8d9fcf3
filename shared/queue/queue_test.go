package queue

import (
	"errors"
	"strings"
	"testing"
)

const id1 = "3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b"

func TestEncodeDecode(t *testing.T) {
	t.Parallel()
	body, err := Encode(id1)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"contact_id":"` + id1 + `"}`; body != want {
		t.Fatalf("Encode = %s, want %s", body, want)
	}
	got, err := Decode(body)
	if err != nil || got != id1 {
		t.Fatalf("Decode = %q, %v", got, err)
	}
	if _, err := Encode("nope"); !errors.Is(err, ErrBadMessage) {
		t.Fatalf("Encode(nope) = %v, want ErrBadMessage", err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, body, want string }{
		{"empty", ``, "not a JSON object"},
		{"not json", `contact 1`, "not a JSON object"},
		{"array", `["` + id1 + `"]`, "not a JSON object"},
		{"string", `"` + id1 + `"`, "not a JSON object"},
		{"null", `null`, "null"},
		{"missing id", `{}`, "contact_id is missing"},
		{"other field", `{"contact_id":"` + id1 + `","x":1}`, `unknown field "x"`},
		{"number id", `{"contact_id":42}`, "contact_id is not a string"},
		{"empty id", `{"contact_id":""}`, "contact_id is empty"},
		{"non-uuid id", `{"contact_id":"42"}`, `contact_id "42" is not a UUID`},
		{"uuid without dashes", `{"contact_id":"3f2b8c1e5d4a4e6f9a7b1c2d3e4f5a6b"}`, "not a UUID"},
		{"trailing data", `{"contact_id":"` + id1 + `"} {}`, "data after the JSON object"},
		{"huge", `{"contact_id":"` + strings.Repeat("a", 5000) + `"}`, "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id, err := Decode(tc.body)
			if !errors.Is(err, ErrBadMessage) {
				t.Fatalf("Decode(%q) = %q, %v; want ErrBadMessage", tc.body, id, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestIsUUID(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		id1:                                    true,
		strings.ToUpper(id1):                   true,
		"":                                     false,
		"3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6":  false,
		"3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6g": false,
		"3f2b8c1e_5d4a-4e6f-9a7b-1c2d3e4f5a6b": false,
	} {
		if IsUUID(s) != want {
			t.Errorf("IsUUID(%q) = %v", s, !want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(`{"contact_id":"` + id1 + `"}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, body string) {
		id, err := Decode(body)
		if err == nil && !IsUUID(id) {
			t.Fatalf("Decode(%q) accepted %q", body, id)
		}
		if err == nil {
			again, err := Encode(id)
			if err != nil {
				t.Fatal(err)
			}
			if back, err := Decode(again); err != nil || back != id {
				t.Fatalf("round trip of %q: %q, %v", id, back, err)
			}
		}
	})
}
