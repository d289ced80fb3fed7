package records

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Item records use a small binary encoding rather than JSON: reading all
// items is on the planning path of every pass, and this encoding costs far
// less to decode.
//
//	format byte (1) | uvarint len + ETag | Name | Hash | UID |
//	varint Size | varint ModNs | uvarint Inode | uvarint base sequence
//
// The base sequence (schema 2) is the key of the item's base in the
// collection's bases bucket; 0 or absent means none. Unknown trailing bytes
// are ignored so a later schema can append fields.
const itemFormat = 1

var errShortRecord = errors.New("truncated item record")

func encodeItem(it Item, baseSeq uint64) []byte {
	n := 1 + 4*binary.MaxVarintLen64 + len(it.ETag) + len(it.Name) + len(it.Hash) + len(it.UID) + 4*binary.MaxVarintLen64
	b := make([]byte, 0, n)
	b = append(b, itemFormat)
	for _, s := range []string{it.ETag, it.Name, it.Hash, it.UID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, it.Fingerprint.Size)
	b = binary.AppendVarint(b, it.Fingerprint.ModNs)
	b = binary.AppendUvarint(b, it.Fingerprint.Inode)
	b = binary.AppendUvarint(b, baseSeq)
	return b
}

func decodeItem(k, v []byte) (Item, error) {
	it, _, err := decodeItemSeq(k, v)
	return it, err
}

// decodeItemSeq decodes a record and its base sequence (0: none).
func decodeItemSeq(k, v []byte) (Item, uint64, error) {
	if len(v) == 0 || v[0] != itemFormat {
		return Item{}, 0, fmt.Errorf("decode item %s: unknown record format", k)
	}
	v = v[1:]
	str := func() (string, error) {
		l, n := binary.Uvarint(v)
		if n <= 0 || uint64(len(v)-n) < l {
			return "", errShortRecord
		}
		s := string(v[n : n+int(l)]) // string() copies out of bbolt memory
		v = v[n+int(l):]
		return s, nil
	}
	// string(k) copies, so nothing in the Item aliases bbolt memory.
	it := Item{Href: string(k)}
	var err error
	for _, dst := range []*string{&it.ETag, &it.Name, &it.Hash, &it.UID} {
		if *dst, err = str(); err != nil {
			return Item{}, 0, fmt.Errorf("decode item %s: %w", k, err)
		}
	}
	var n int
	if it.Fingerprint.Size, n = binary.Varint(v); n <= 0 {
		return Item{}, 0, fmt.Errorf("decode item %s: %w", k, errShortRecord)
	}
	v = v[n:]
	if it.Fingerprint.ModNs, n = binary.Varint(v); n <= 0 {
		return Item{}, 0, fmt.Errorf("decode item %s: %w", k, errShortRecord)
	}
	v = v[n:]
	if it.Fingerprint.Inode, n = binary.Uvarint(v); n <= 0 {
		return Item{}, 0, fmt.Errorf("decode item %s: %w", k, errShortRecord)
	}
	v = v[n:]
	seq, n := binary.Uvarint(v)
	if n <= 0 {
		seq = 0 // a schema-1 record: its base (if any) was moved by the migration
	}
	return it, seq, nil
}
