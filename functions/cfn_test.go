package functions_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// loadTemplate parses a CloudFormation/SAM template into maps, slices and
// scalars, with the short intrinsic tags in their long form: !Ref X →
// {"Ref": X}, !GetAtt A.B → {"Fn::GetAtt": [A, B]}, !Sub/!If/… →
// {"Fn::Sub": …}.
func loadTemplate(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseBytes(b, 0)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(f.Docs) != 1 {
		t.Fatalf("%s: %d YAML documents, want 1", path, len(f.Docs))
	}
	v, err := cfnValue(f.Docs[0].Body)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: not a mapping", path)
	}
	return m
}

func cfnValue(n ast.Node) (any, error) {
	switch n := n.(type) {
	case nil:
		return nil, nil
	case *ast.DocumentNode:
		return cfnValue(n.Body)
	case *ast.MappingNode:
		m := make(map[string]any, len(n.Values))
		for _, mv := range n.Values {
			if err := addPair(m, mv); err != nil {
				return nil, err
			}
		}
		return m, nil
	case *ast.MappingValueNode:
		m := map[string]any{}
		return m, addPair(m, n)
	case *ast.SequenceNode:
		s := make([]any, 0, len(n.Values))
		for _, e := range n.Values {
			v, err := cfnValue(e)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case *ast.TagNode:
		tag := n.Start.Value
		v, err := cfnValue(n.Value)
		if err != nil {
			return nil, err
		}
		switch {
		case tag == "!Ref":
			return map[string]any{"Ref": v}, nil
		case tag == "!GetAtt":
			if s, ok := v.(string); ok {
				res, attr, found := strings.Cut(s, ".")
				if !found {
					return nil, fmt.Errorf("line %d: !GetAtt %q has no attribute", n.Start.Position.Line, s)
				}
				v = []any{res, attr}
			}
			return map[string]any{"Fn::GetAtt": v}, nil
		case tag == "!Condition":
			return map[string]any{"Condition": v}, nil
		case strings.HasPrefix(tag, "!!"):
			return v, nil
		case strings.HasPrefix(tag, "!"):
			return map[string]any{"Fn::" + tag[1:]: v}, nil
		}
		return nil, fmt.Errorf("line %d: unknown tag %s", n.Start.Position.Line, tag)
	case *ast.AnchorNode, *ast.AliasNode, *ast.MergeKeyNode:
		return nil, fmt.Errorf("line %d: anchors and aliases are not used in templates", n.GetToken().Position.Line)
	default:
		var v any
		if err := yaml.NodeToValue(n, &v); err != nil {
			return nil, err
		}
		return v, nil
	}
}

func addPair(m map[string]any, mv *ast.MappingValueNode) error {
	k, err := cfnValue(mv.Key)
	if err != nil {
		return err
	}
	key := fmt.Sprint(k)
	if _, dup := m[key]; dup {
		return fmt.Errorf("line %d: key %q repeated", mv.Key.GetToken().Position.Line, key)
	}
	v, err := cfnValue(mv.Value)
	if err != nil {
		return err
	}
	m[key] = v
	return nil
}

// Accessors for the nested maps; a missing or mistyped value is nil/"".

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func getMap(v any, path ...string) map[string]any {
	m, _ := get(v, path...).(map[string]any)
	return m
}

func getString(v any, path ...string) string {
	s, _ := get(v, path...).(string)
	return s
}

func getInt(v any, path ...string) (int, bool) {
	switch n := get(v, path...).(type) {
	case int:
		return n, true
	case uint64:
		return int(n), true
	case int64:
		return int(n), true
	case float64:
		return int(n), n == float64(int(n))
	}
	return 0, false
}

func TestLoadTemplateTags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := dir + "/t.yaml"
	src := "A: !Ref X\nB: !GetAtt Q.Arn\nC: !Sub '${AWS::Region}'\nD: !If [Cond, 1, !Ref AWS::NoValue]\nE: [1, two]\n"
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	m := loadTemplate(t, p)
	got := fmt.Sprint(m)
	want := "map[A:map[Ref:X] B:map[Fn::GetAtt:[Q Arn]] C:map[Fn::Sub:${AWS::Region}] D:map[Fn::If:[Cond 1 map[Ref:AWS::NoValue]]] E:[1 two]]"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
