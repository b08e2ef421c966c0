package kafka

import (
	"log/slog"

	"github.com/sluiceio/sluice/sluicetest"
)

func slogDiscard() *slog.Logger { return sluicetest.Logger() }
