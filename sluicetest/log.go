package sluicetest

import (
	"io"
	"log/slog"
)

// Logger discards everything; tests that assert on logs build their own.
func Logger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
