// Package daemon wires vdird together: configuration, the engine that runs a
// sync pass (listings → plan → execution recorded in state), and the
// long-running loop. Decisions live in daemon/plan; this package only performs
// them through davclient, vdir and state.
package daemon

// Version is the vdird version, set at build time with -ldflags "-X".
var Version = "0.1.0-dev"
