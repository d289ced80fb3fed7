// Package records lays out one collection's items inside its bbolt
// bucket: a compact binary record per href, each item's base (its last
// synced bytes) under an append-only sequence number, the UID and
// file-name indexes, the file sum of the items' files and its shards, and
// an append log that records a first download's many items cheaply until
// Fold indexes them in chunks.
//
// It is package state's storage mechanics; state keeps bbolt out of its
// own API. Every function takes the collection's bucket, in a transaction
// the caller owns, except Fold, which runs its own transactions.
package records

import (
	"encoding/binary"
)

// Fingerprint is a local file's lstat identity.
type Fingerprint struct {
	Size  int64
	ModNs int64
	Inode uint64
}

// Item is one stored item. Base is nil unless asked for (GetWithBase).
type Item struct {
	Href        string
	ETag        string
	Name        string
	Fingerprint Fingerprint
	Hash        string
	UID         string
	Base        []byte
}

// The collection bucket's own keys and sub-buckets. The key "info" is the
// caller's (package state keeps the collection's description there).
var (
	bucketItems = []byte("items")
	// bucketBases holds bases under 8-byte big-endian sequence numbers
	// (schema 2), so new bases append at the end of the tree: a big first
	// download touches a few pages instead of rewriting (and mapping) the
	// whole bucket, which kept the entire state file resident.
	bucketBases = []byte("bases")
	// bucketBaseV1 held bases under their href (schema 1).
	bucketBaseV1 = []byte("base")
	// keyFileSum holds the setsum of the items' (Name, Fingerprint): what
	// the folder looks like if nothing changed since it was recorded.
	keyFileSum = []byte("filesum")
	// bucketUIDs indexes items by UID (schema 4): keys UID NUL href, no
	// values, so WithUID looks up instead of scanning every record.
	bucketUIDs = []byte("uids")
	// bucketNames indexes items by local file name (schema 5): name → href.
	bucketNames = []byte("names")
	// bucketFileShards holds the file sum split by file name (schema 7):
	// key one byte, the shard (setsum.ShardOf of the name); value its
	// setsum. A folder whose sum differs from keyFileSum is compared shard
	// by shard, and only the files of the shards that differ are looked up.
	bucketFileShards = []byte("fileshards")
)

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}
