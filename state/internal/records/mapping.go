package records

import (
	"unsafe"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// dropMappingAbove: state files smaller than this are left alone.
const dropMappingAbove = 8 << 20

// DropMapping unmaps the pages of the state file that bbolt's read-only
// mmap touched, keeping the mapping itself. The kernel keeps them cached,
// so the next read costs a minor fault, not I/O.
//
// Why: a pass over a big calendar touches item pages all over the file,
// and Linux maps the neighbours of each touched page too (fault-around),
// so after a first download of a big calendar the whole file counted as
// vdird's resident memory, many times what its heap used. Dropping the
// pages after each write transaction (and after reads that visit the whole
// file) keeps the resident set to what a pass actually works on.
//
// It runs inside a read transaction: bbolt remaps the file only under a
// lock that read transactions hold, so the range cannot move or be reused
// while madvise runs. MADV_DONTNEED on a shared file mapping drops page
// table entries only; the data is the file's and stays intact.
func DropMapping(db *bolt.DB) { _ = db.View(dropTxMapping) }

// dropTxMapping is DropMapping inside tx, read-only or not: the mapping
// moves only when a write transaction commits, so it stays put while tx
// runs. A write transaction's changed pages are Go memory, not the mapping.
func dropTxMapping(tx *bolt.Tx) error {
	size := tx.Size()
	if size < dropMappingAbove {
		return nil
	}
	// Info().Data is the mapping's address as a uintptr; reading it back
	// through its own address makes it a pointer again (the mapping is
	// not Go memory, so the collector does not care).
	info := tx.DB().Info()
	base := *(*unsafe.Pointer)(unsafe.Pointer(&info.Data))
	data := unsafe.Slice((*byte)(base), size)
	return unix.Madvise(data, unix.MADV_DONTNEED)
}
