package agents

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/kaleads/kaleads/shared/lexicon"
)

// defaultsFile holds the level-4 value of every produced variable, per
// language: what an email says when nothing better was found. Every engine
// and the checks that repair an answer use them.
//
//go:embed defaults.json
var defaultsFile []byte

var defaults = func() map[string]map[string]string {
	var m map[string]map[string]string
	if err := json.Unmarshal(defaultsFile, &m); err != nil {
		panic(fmt.Sprintf("agents: defaults.json: %v", err)) // embedded, checked by the tests
	}
	return m
}()

// Default returns the level-4 value of variable v in lang (English for a
// language without its own defaults).
func Default(lang, v string) string {
	if d, ok := defaults[lexicon.BaseLang(lang)]; ok {
		return d[v]
	}
	return defaults["en"][v]
}
