package campaign

import (
	"errors"
	"fmt"
	"os"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/llm"
)

// Engine choices for --engine.
const (
	EngineAuto    = "auto"    // llm when OPENAI_API_KEY or OPENAI_BASE_URL is set, else offline
	EngineOffline = "offline" // deterministic heuristics, no network
	EngineLLM     = "llm"     // an OpenAI-compatible model, offline engine as fallback
)

// NewEngine builds the engine for a choice. The LLM engine reads its
// configuration from the environment (see shared/llm).
func NewEngine(choice string) (agents.Engine, error) {
	off, err := agents.NewOffline()
	if err != nil {
		return nil, err
	}
	switch choice {
	case EngineOffline:
		return off, nil
	case EngineAuto, "":
		if os.Getenv(llm.EnvAPIKey) == "" && os.Getenv(llm.EnvBaseURL) == "" {
			return off, nil
		}
		fallthrough
	case EngineLLM:
		e, err := llm.FromEnv(off)
		if errors.Is(err, llm.ErrNoAPIKey) {
			return nil, fmt.Errorf("--engine llm: set %s (or %s for a local server such as Ollama): %w", llm.EnvAPIKey, llm.EnvBaseURL, err)
		}
		return e, err
	}
	return nil, fmt.Errorf("unknown engine %q (known: auto, offline, llm)", choice)
}
