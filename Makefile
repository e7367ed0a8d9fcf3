# Kaleads — see README.md.
GO      ?= go
BIN     := bin/kaleads
EXAMPLE := examples/prospectia

.PHONY: all build demo test vet fmt-check bench fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/kaleads

## demo: run the example campaign offline (no account, no network) into out/demo
demo: build
	$(BIN) generate --client $(EXAMPLE) --contacts $(EXAMPLE)/contacts.csv --sites $(EXAMPLE)/sites --out out/demo
	@echo
	@echo "Open out/demo/report.html to review the emails (worst score first)."

## demo-errors: the same campaign over a CSV with bad rows, to see errors.csv
demo-errors: build
	$(BIN) generate --client $(EXAMPLE) --contacts $(EXAMPLE)/contacts_bad.csv --sites $(EXAMPLE)/sites --out out/demo-errors

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
