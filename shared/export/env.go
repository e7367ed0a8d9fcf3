package export

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/kaleads/kaleads/shared/sequencer/instantly"
	"github.com/kaleads/kaleads/shared/sequencer/smartlead"
)

// The environment the sequencer clients are configured from (read by the
// commands and the functions, which pass their getenv).
const (
	EnvSmartleadKey  = "SMARTLEAD_API_KEY"
	EnvSmartleadURL  = "SMARTLEAD_BASE_URL"
	EnvInstantlyKey  = "INSTANTLY_API_KEY"
	EnvInstantlyURL  = "INSTANTLY_BASE_URL"
	EnvInstantlyZone = "INSTANTLY_TIMEZONE" // the schedule of created campaigns (default Europe/Paris)
)

// keyEnv names each sequencer's key variable, for error messages.
var keyEnv = map[string]string{"smartlead": EnvSmartleadKey, "instantly": EnvInstantlyKey}

// Sequencers builds a client for each sequencer whose API key getenv has
// (none: an empty map; exports to that sequencer then say the key is
// missing).
func Sequencers(getenv func(string) string, log *slog.Logger) (map[string]Sequencer, error) {
	hc := &http.Client{Timeout: 60 * time.Second}
	out := map[string]Sequencer{}
	if k := getenv(EnvSmartleadKey); k != "" {
		c, err := smartlead.New(smartlead.Config{APIKey: k, BaseURL: getenv(EnvSmartleadURL), HTTPClient: hc, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvSmartleadURL, err)
		}
		out["smartlead"] = Smartlead{C: c}
	}
	if k := getenv(EnvInstantlyKey); k != "" {
		c, err := instantly.New(instantly.Config{APIKey: k, BaseURL: getenv(EnvInstantlyURL), HTTPClient: hc, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvInstantlyURL, err)
		}
		out["instantly"] = Instantly{C: c, Schedule: instantly.Schedule{Timezone: getenv(EnvInstantlyZone)}}
	}
	return out, nil
}
