package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestLogger_DurationsPrintAsDurations(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "info")
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Dur("took", 22*time.Millisecond).Dur("interval", time.Minute).Msg("pass done")
	if got := buf.String(); !strings.Contains(got, `"took":"22ms"`) || !strings.Contains(got, `"interval":"1m0s"`) {
		t.Fatalf("JSON line %q: want took \"22ms\" and interval \"1m0s\"", got)
	}
	buf.Reset()
	console := zerolog.New(zerolog.ConsoleWriter{Out: &buf, NoColor: true})
	console.Info().Dur("took", 22*time.Millisecond).Msg("pass done")
	if got := buf.String(); !strings.Contains(got, "took=22ms") {
		t.Fatalf("console line %q: want took=22ms", got)
	}
}
