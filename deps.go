//go:build tools

// Temporary: pins the chosen dependencies until the packages that use them land.
package vdird

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/coreos/go-systemd/v22/daemon"
	_ "github.com/emersion/go-ical"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/rs/zerolog"
	_ "go.etcd.io/bbolt"
)
