// Package functions holds the AWS Lambda functions, one folder each
// (ingest, generate, sweep, api), deployed by template.yaml at the repository
// root. Each main.go is a few lines: functions/internal/setup reads the
// environment and secrets and builds the pieces from shared/.
//
// This package has no code of its own; its tests check template.yaml
// against the Makefile and the folders, and run each function's binary
// under the Lambda Runtime Interface Emulator.
package functions
