package api

import (
	_ "embed"
	"net/http"

	"github.com/kaleads/kaleads/shared/store"
)

// OpenAPI is the OpenAPI 3.1 document of the API, served at
// /api/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte

func (h *handler) openAPI(w http.ResponseWriter, r *http.Request, _ store.APIKey) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(OpenAPI)
}
