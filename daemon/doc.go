// Package daemon is vdird's long-running loop: one worker per account and
// per subscription with its poll timer and backoff, the fsnotify watcher that
// decides when a folder needs a pass, systemd notification and the status
// lines. It reaches collections only through package engine (and a
// subscription's folder through package subscription); the control socket
// is package daemon/control.
package daemon
