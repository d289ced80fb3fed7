package pass

import (
	"github.com/vdird/vdird/engine/apply"
	"github.com/vdird/vdird/versions"
)

// versions is what the executor of this pass keeps the versions its
// writes replace with (nil: the engine keeps none). The passes of one
// account pass share its pass ID.
func (p *pass) versions() *apply.Versions {
	if p.env.Versions == nil {
		return nil
	}
	ap := p.opts.Account
	if ap == nil {
		return &apply.Versions{Store: p.env.Versions, Pass: versions.NewPassID(p.env.Now())}
	}
	if ap.pass == "" {
		ap.pass = versions.NewPassID(p.env.Now())
	}
	return &apply.Versions{Store: p.env.Versions, Pass: ap.pass}
}
