# Kaleads — see README.md.
GO      ?= go
BIN     := bin/kaleads
EXAMPLE := examples/prospectia

.PHONY: all build cli lambdas demo eval drill test vet fmt-check bench fuzz clean \
	build-IngestFunction build-GenerateFunction build-SweepFunction build-ApiFunction build-ExportFunction

all: build

## build: the CLI (bin/kaleads) and the Lambda zips (bin/lambda/<name>.zip)
build: cli lambdas

## cli: bin/kaleads only
cli:
	$(GO) build -o $(BIN) ./cmd/kaleads

# Lambda functions: one folder per function under functions/ (each with a
# main.go); provided.al2023 on arm64 runs a static binary named bootstrap.
FUNCTIONS     := $(patsubst functions/%/main.go,%,$(wildcard functions/*/main.go))
LAMBDA_GOBUILD = GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags="-s -w"

## lambdas: bin/lambda/<name>/bootstrap and bin/lambda/<name>.zip for each function
lambdas: $(FUNCTIONS:%=lambda-%)

lambda-%:
	@mkdir -p bin/lambda/$*
	$(LAMBDA_GOBUILD) -o bin/lambda/$*/bootstrap ./functions/$*
	$(GO) run ./functions/internal/zipbootstrap -o bin/lambda/$*.zip bin/lambda/$*/bootstrap

# `sam build` (BuildMethod: makefile) calls build-<LogicalId> with ARTIFACTS_DIR.
build-IngestFunction:
	$(LAMBDA_GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/ingest
build-GenerateFunction:
	$(LAMBDA_GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/generate
build-SweepFunction:
	$(LAMBDA_GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/sweep
build-ApiFunction:
	$(LAMBDA_GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/api
build-ExportFunction:
	$(LAMBDA_GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/export

## demo: run the example campaign offline (no account, no network) into out/demo
demo: cli
	$(BIN) generate --client $(EXAMPLE) --contacts $(EXAMPLE)/contacts.csv --sites $(EXAMPLE)/sites --out out/demo
	@echo
	@echo "Open out/demo/report.html to review the emails (worst score first)."

## demo-errors: the same campaign over a CSV with bad rows, to see errors.csv
demo-errors: cli
	$(BIN) generate --client $(EXAMPLE) --contacts $(EXAMPLE)/contacts_bad.csv --sites $(EXAMPLE)/sites --out out/demo-errors

## eval: the labelled evaluation set (examples/eval), offline engine: accuracy per split,
## then again with each company's own entry hidden from competitors.json (leave-one-out)
eval: cli
	$(BIN) eval --set examples/eval --engine offline
	@echo
	$(BIN) eval --set examples/eval --engine offline --hide-own

## drill: the serve reliability drill (500 contacts, duplicate webhooks, SIGKILL, PostgreSQL restart)
drill:
	scripts/drill.sh

## test: formatting, vet, and every test with the race detector
test: fmt-check vet
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

## bench: the performance figures reported in issues
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./shared/...

## fuzz: a short fuzzing session on each parser of untrusted input
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./shared/template
	$(GO) test -run '^$$' -fuzz FuzzRead -fuzztime 30s ./shared/contacts

clean:
	rm -rf bin out
