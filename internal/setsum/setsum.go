// Package setsum is an order-independent digest of a set of records: the
// count and the sum (mod 2^128, in two 64-bit lanes) of a SHA-256-derived
// hash of each record. Records can be added and removed in any order, so a
// digest kept up to date record by record equals one computed from scratch,
// and two digests are equal exactly when their sets are, but for a 2^-128
// chance. vdird uses it to see that a folder still matches its state, or
// that a listing matches a download, without holding either in memory.
package setsum

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
)

// Sum is the digest of a set; the zero value is the empty set.
type Sum struct {
	N    int64 // records in the set
	A, B uint64
}

// Add puts rec into the set.
func (s *Sum) Add(rec []byte) {
	a, b := hash(rec)
	s.N++
	s.A += a
	s.B += b
}

// Remove takes rec (added before) out of the set.
func (s *Sum) Remove(rec []byte) {
	a, b := hash(rec)
	s.N--
	s.A -= a
	s.B -= b
}

func hash(rec []byte) (uint64, uint64) {
	h := sha256.Sum256(rec)
	return binary.LittleEndian.Uint64(h[:8]), binary.LittleEndian.Uint64(h[8:16])
}

// Size of an encoded Sum.
const Size = 24

// Bytes encodes s in Size bytes.
func (s Sum) Bytes() []byte {
	b := make([]byte, Size)
	binary.BigEndian.PutUint64(b[0:], uint64(s.N))
	binary.BigEndian.PutUint64(b[8:], s.A)
	binary.BigEndian.PutUint64(b[16:], s.B)
	return b
}

// Parse decodes what Bytes encoded.
func Parse(b []byte) (Sum, error) {
	if len(b) != Size {
		return Sum{}, errors.New("setsum: bad encoding")
	}
	return Sum{N: int64(binary.BigEndian.Uint64(b[0:])), A: binary.BigEndian.Uint64(b[8:]), B: binary.BigEndian.Uint64(b[16:])}, nil
}

// FileRecord is the record of one item file: its name and stat
// fingerprint. vdir and state must describe a file the same way.
func FileRecord(name string, size, modNs int64, inode uint64) []byte {
	b := make([]byte, 0, len(name)+1+3*binary.MaxVarintLen64)
	b = append(b, name...)
	b = append(b, 0) // names never contain NUL
	b = binary.AppendVarint(b, size)
	b = binary.AppendVarint(b, modNs)
	return binary.AppendUvarint(b, inode)
}

// PairRecord is the record of a (key, value) pair of strings, such as a
// member's href and etag.
func PairRecord(key, value string) []byte {
	b := make([]byte, 0, len(key)+1+len(value))
	b = append(b, key...)
	b = append(b, 0)
	return append(b, value...)
}
