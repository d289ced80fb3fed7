package webdav

import (
	"testing"
	"time"
)

func TestParseRetryAfter_SecondsDateAndOverflow(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	longest := time.Duration(1<<63-1) / time.Second * time.Second
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 0 ", 0, true},
		{"Wed, 01 Jan 2025 00:01:30 GMT", 90 * time.Second, true},
		{"Tue, 31 Dec 2024 23:00:00 GMT", 0, true}, // in the past: retry now
		{"9227000000", longest, true},              // seconds past what a Duration holds
		{"-5", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	} {
		got, ok := parseRetryAfter(tc.v, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
}
