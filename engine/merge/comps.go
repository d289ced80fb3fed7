package merge

// comp merges a component present locally and on the server against its
// base version (nil when both sides added it): its properties, then its
// sub-components.
func (m *merger) comp(path string, b, l, r *comp) {
	if l.fingerprint() == r.fingerprint() || (b != nil && r.fingerprint() == b.fingerprint()) {
		return // nothing to take from the server
	}
	m.props(path, b, l, r)
	bs, ls, rs := byKey(b), byKey(l), byKey(r)
	keys := make([]string, 0, len(l.subs)+len(r.subs))
	for _, s := range l.subs {
		keys = append(keys, s.key)
	}
	for _, s := range r.subs {
		if ls[s.key] == nil {
			keys = append(keys, s.key)
		}
	}
	for _, k := range keys {
		bc, lc, rc := bs[k], ls[k], rs[k]
		switch {
		case lc != nil && rc != nil:
			if lc.name == "VTIMEZONE" {
				m.whole(bc, lc, rc)
			} else {
				m.comp(join(path, lc.label), bc, lc, rc)
			}
		case lc != nil && bc != nil:
			m.goneOnServer(join(path, lc.label), bc, lc)
		case rc != nil:
			m.newOnServer(join(path, rc.label), l, r, ls, bc, rc)
		}
	}
}

func join(path, label string) string {
	if path == "" || path == "VCALENDAR" {
		return label
	}
	return path + "/" + label
}

func byKey(c *comp) map[string]*comp {
	out := map[string]*comp{}
	if c != nil {
		for _, s := range c.subs {
			out[s.key] = s
		}
	}
	return out
}

// goneOnServer handles a component the server deleted: it goes unless it
// was changed locally, which is a conflict.
func (m *merger) goneOnServer(path string, bc, lc *comp) {
	if lc.fingerprint() != bc.fingerprint() {
		m.conflict(Conflict{Component: path, Base: m.base.text(bc), Local: m.local.text(lc)})
		if m.policy == LocalWins {
			return
		}
	}
	for i := lc.begin; i <= lc.end; i++ {
		m.edits.set(i, nil)
	}
}

// newOnServer handles a component only the server holds: an addition is
// inserted; one deleted locally stays deleted unless the server changed it,
// which is a conflict.
func (m *merger) newOnServer(path string, l, r *comp, ls map[string]*comp, bc, rc *comp) {
	if bc != nil {
		if rc.fingerprint() == bc.fingerprint() {
			return
		}
		m.conflict(Conflict{Component: path, Base: m.base.text(bc), Remote: m.remote.text(rc)})
		if m.policy == LocalWins {
			return
		}
	}
	// After the local copy of the nearest sibling before it on the server,
	// else before the first local sub-component, else before END.
	at := l.end
	if len(l.subs) > 0 {
		at = l.subs[0].begin
	}
	i := 0
	for i < len(r.subs) && r.subs[i] != rc {
		i++
	}
	for i--; i >= 0; i-- {
		if prev := ls[r.subs[i].key]; prev != nil {
			at = prev.end + 1
			break
		}
	}
	m.insert(at, m.remote.block(rc, m.eolAt(at-1)))
}

// whole merges a time zone definition as one unit: the side that changed it
// wins, and when both did, the policy's side. That is no conflict to show:
// both define the same TZID, and programs rewrite zones on their own (khal
// writes a fresh one with every edit).
func (m *merger) whole(bc, lc, rc *comp) {
	lf, rf, bf := lc.fingerprint(), rc.fingerprint(), ""
	if bc != nil {
		bf = bc.fingerprint()
	}
	if lf == rf || rf == bf || (lf != bf && m.policy == LocalWins) {
		return
	}
	m.edits.set(lc.begin, m.remote.block(rc, m.eolAt(lc.begin)))
	for i := lc.begin + 1; i <= lc.end; i++ {
		m.edits.set(i, nil)
	}
}
