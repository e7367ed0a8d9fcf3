package llm

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/agents"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Keywords OpenAI strict mode rejects, or accepts only on recent snapshots
// and that local servers handle inconsistently (external-apis.md §5.2).
var forbidden = []string{
	"minLength", "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
	"multipleOf", "allOf", "not", "if", "then", "else", "oneOf", "dependentRequired", "dependentSchemas",
	"patternProperties", "unevaluatedProperties", "propertyNames", "minProperties", "maxProperties",
	"unevaluatedItems", "contains", "minContains", "maxContains", "uniqueItems", "default", "nullable", "$schema",
}

// checkStrict walks a decoded schema and reports every strict-mode breach.
func checkStrict(path string, node map[string]any, depth int, errs *[]string) {
	bad := func(format string, args ...any) { *errs = append(*errs, path+": "+fmt.Sprintf(format, args...)) }
	if depth > 5 {
		bad("nested deeper than 5 levels")
	}
	for _, k := range forbidden {
		if _, ok := node[k]; ok {
			bad("keyword %q is not allowed in strict mode", k)
		}
	}
	switch node["type"] {
	case "object":
		props, _ := node["properties"].(map[string]any)
		if len(props) == 0 {
			bad("object without properties")
		}
		if ap, ok := node["additionalProperties"]; !ok || ap != false {
			bad("additionalProperties must be false, got %v", ap)
		}
		req, _ := node["required"].([]any)
		var got, want []string
		for _, r := range req {
			got = append(got, r.(string))
		}
		for k := range props {
			want = append(want, k)
		}
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			bad("required %v must list every property %v", got, want)
		}
		for k, v := range props {
			m, ok := v.(map[string]any)
			if !ok {
				bad("property %q is not a schema", k)
				continue
			}
			checkStrict(path+"."+k, m, depth+1, errs)
		}
	case "array":
		items, ok := node["items"].(map[string]any)
		if !ok {
			bad("array without items")
			return
		}
		checkStrict(path+"[]", items, depth+1, errs)
	case "string", "integer", "number", "boolean":
	default:
		bad("unsupported type %v", node["type"])
	}
}

func TestSchemasFollowStrictMode(t *testing.T) {
	nameRe := regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	for _, spec := range agents.All {
		t.Run(spec.Name, func(t *testing.T) {
			b, err := SchemaFor(spec).MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var root map[string]any
			if err := json.Unmarshal(b, &root); err != nil {
				t.Fatalf("schema is not JSON: %v\n%s", err, b)
			}
			if root["type"] != "object" {
				t.Errorf("root type = %v, want object", root["type"])
			}
			if _, ok := root["anyOf"]; ok {
				t.Error("root must not be anyOf")
			}
			var errs []string
			checkStrict("$", root, 0, &errs)
			for _, e := range errs {
				t.Error(e)
			}
			if !nameRe.MatchString(SchemaName(spec.Name)) {
				t.Errorf("schema name %q breaks [a-zA-Z0-9_-]{1,64}", SchemaName(spec.Name))
			}
			values := root["properties"].(map[string]any)["values"].(map[string]any)["properties"].(map[string]any)
			for _, v := range spec.Produces() {
				if _, ok := values[v]; !ok {
					t.Errorf("values lacks %q", v)
				}
			}
			var pretty bytes.Buffer
			json.Indent(&pretty, b, "", "  ")
			golden(t, filepath.Join("testdata", "schemas", spec.Name+".json"), pretty.Bytes())
		})
	}
}

// The checker itself must catch what strict mode refuses.
func TestCheckStrictCatchesBreaches(t *testing.T) {
	for name, schema := range map[string]string{
		"maxLength":            `{"type":"object","properties":{"a":{"type":"string","maxLength":5}},"required":["a"],"additionalProperties":false}`,
		"missing required":     `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["a"],"additionalProperties":false}`,
		"additionalProperties": `{"type":"object","properties":{"a":{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}},"required":["a"],"additionalProperties":false}`,
		"minimum":              `{"type":"object","properties":{"a":{"type":"integer","minimum":1}},"required":["a"],"additionalProperties":false}`,
	} {
		var root map[string]any
		if err := json.Unmarshal([]byte(schema), &root); err != nil {
			t.Fatal(err)
		}
		var errs []string
		checkStrict("$", root, 0, &errs)
		if len(errs) == 0 {
			t.Errorf("%s: breach not reported", name)
		}
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	got = append(bytes.TrimSpace(got), '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the generated output (run go test -update and review the diff):\n%s", path, got)
	}
}

func TestDecodeOutput(t *testing.T) {
	valid := `{"injection_detected":false,"reasoning":"r","evidence":[],"values":{"target_persona":"a","product_category":"b"},"fallback_level":2,"confidence":3}`
	for _, tc := range []struct {
		name, content, wantErr string
	}{
		{"valid", valid, ""},
		{"prose around", "Voici : " + valid, "not a JSON object"},
		{"truncated", valid[:60], "not a JSON object"},
		{"missing field", `{"injection_detected":false,"reasoning":"r","evidence":[],"values":{},"confidence":3}`, `"fallback_level" is missing`},
		{"unknown field", strings.Replace(valid, `"confidence":3`, `"confidence":3,"extra":1`, 1), "unknown field"},
		{"unexpected value", strings.Replace(valid, `"product_category":"b"`, `"product_category":"b","x":"y"`, 1), "values.x"},
		{"wrong type", strings.Replace(valid, `"confidence":3`, `"confidence":"high"`, 1), "cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeOutput(agents.Persona, tc.content)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}
