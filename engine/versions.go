package engine

import (
	"github.com/vdird/vdird/engine/apply"
	"github.com/vdird/vdird/versions"
)

// versions is what the executor of this calendar pass keeps the versions
// its writes replace with (nil: the engine keeps none). The calendar
// passes of one account pass share its pass ID.
func (p *pass) versions() *apply.Versions {
	if p.e.Versions == nil {
		return nil
	}
	ap := p.opts.account
	if ap == nil {
		return &apply.Versions{Store: p.e.Versions, Pass: versions.NewPassID(p.e.Now())}
	}
	if ap.pass == "" {
		ap.pass = versions.NewPassID(p.e.Now())
	}
	return &apply.Versions{Store: p.e.Versions, Pass: ap.pass}
}
