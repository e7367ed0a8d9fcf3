package email

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestSummaryActivity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		agents    map[string]AgentActivity
		total     AgentActivity
		share     float64
		top       string
		topN      int
		fallbackN int
	}{
		{"no agent", nil, AgentActivity{}, 0, "", 0, 0},
		{"offline engine", map[string]AgentActivity{"persona": {Answers: 3, Reused: 5}, "pain": {Answers: 3}},
			AgentActivity{Answers: 6, Reused: 5}, 0, "", 0, 0},
		{"fallbacks over two agents", map[string]AgentActivity{
			"persona": {Answers: 4, Calls: 5, Retries: 1, Repairs: 1, LatencyMS: 900, WaitMS: 100, Fallbacks: map[string]int{"model call failed": 1}},
			"pain":    {Answers: 4, Calls: 6, Retries: 2, LatencyMS: 1100, WaitMS: 50, Fallbacks: map[string]int{"model call failed": 1, "model refused": 1}},
		}, AgentActivity{Answers: 8, Calls: 11, Retries: 3, Repairs: 1, LatencyMS: 2000, WaitMS: 150, Fallbacks: map[string]int{"model call failed": 2, "model refused": 1}},
			3.0 / 8, "model call failed", 2, 3},
		{"a tie goes to the first name", map[string]AgentActivity{"persona": {Answers: 2, Fallbacks: map[string]int{"b": 1, "a": 1}}},
			AgentActivity{Answers: 2, Fallbacks: map[string]int{"a": 1, "b": 1}}, 1, "a", 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := Summary{Agents: tt.agents}
			if got := s.Activity(); !reflect.DeepEqual(got, tt.total) {
				t.Errorf("Activity() = %+v, want %+v", got, tt.total)
			}
			if got := s.FallbackShare(); got != tt.share {
				t.Errorf("FallbackShare() = %v, want %v", got, tt.share)
			}
			if r, n := s.TopFallbackReason(); r != tt.top || n != tt.topN {
				t.Errorf("TopFallbackReason() = %q, %d; want %q, %d", r, n, tt.top, tt.topN)
			}
			if got := s.Activity().FallbackCount(); got != tt.fallbackN {
				t.Errorf("FallbackCount() = %d, want %d", got, tt.fallbackN)
			}
		})
	}
}

// New fields are omitted when empty: the lines of an offline run and the
// rows stored before them do not change shape.
func TestNewFieldsOmittedWhenEmpty(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    any
		keys []string
	}{
		{Variable{Value: "x"}, []string{"engine", "fallback_reason"}},
		{Answer{Agent: "persona"}, []string{"fallback_reason"}},
		{Call{Model: "m"}, []string{"wait_ms", "retries"}},
		{Summary{}, []string{"agents", "fallback_examples"}},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.v)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range tt.keys {
			if strings.Contains(string(b), `"`+k+`"`) {
				t.Errorf("%T marshals %s when empty: %s", tt.v, k, b)
			}
		}
	}
}
