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

// ShardCount is how many parts a Shards splits a set into.
const ShardCount = 256

// Shards is a set's digest split into ShardCount parts by a hash of each
// record's key (ShardOf): where two whole sums differ, the shards that
// differ say which keys to look at, so finding one changed file costs a
// look at the files of one shard, not all. A shard's digest is
// a Sum of its own records, so adding the shards gives the whole Sum.
type Shards [ShardCount]Sum

// ShardOf is the shard of a record with this key (FNV-1a, low byte). It is
// stored with state, so it must never change.
func ShardOf(key string) int {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return int(h % ShardCount)
}

// Add puts rec, whose key is key, into its shard.
func (s *Shards) Add(key string, rec []byte) { s[ShardOf(key)].Add(rec) }

// Remove takes rec, whose key is key, out of its shard.
func (s *Shards) Remove(key string, rec []byte) { s[ShardOf(key)].Remove(rec) }

// Total is the Sum of the whole set.
func (s *Shards) Total() Sum {
	var t Sum
	for _, p := range s {
		t.N += p.N
		t.A += p.A
		t.B += p.B
	}
	return t
}

// Differ returns the shards in which s and o differ, in order.
func (s *Shards) Differ(o *Shards) []int {
	var out []int
	for i := range s {
		if s[i] != o[i] {
			out = append(out, i)
		}
	}
	return out
}
