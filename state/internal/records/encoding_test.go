package records

import (
	"reflect"
	"testing"
)

func TestItemRecord_RoundTrip_TruncationIsAnErrorNotAPanic(t *testing.T) {
	it := Item{Href: "/a.ics", ETag: `W/"x"`, Name: "a.ics", Hash: "h", UID: "ü",
		Fingerprint: Fingerprint{Size: -1, ModNs: 1 << 62, Inode: 1<<64 - 1}}
	const seq = 1 << 40
	enc := encodeItem(it, seq)
	got, gotSeq, err := decodeItemSeq([]byte(it.Href), enc)
	if err != nil || !reflect.DeepEqual(got, it) || gotSeq != seq {
		t.Fatalf("decode = %+v, %d, %v", got, gotSeq, err)
	}
	// Fields appended by a later format must not break this one.
	if got, gotSeq, err := decodeItemSeq([]byte(it.Href), append(enc, 9, 9, 9)); err != nil || !reflect.DeepEqual(got, it) || gotSeq != seq {
		t.Fatalf("with trailer: %+v, %v", got, err)
	}
	// A schema-1 record (no base sequence) reads as "no base".
	v1 := encodeItem(it, 0)
	v1 = v1[:len(v1)-1]
	if got, gotSeq, err := decodeItemSeq([]byte(it.Href), v1); err != nil || !reflect.DeepEqual(got, it) || gotSeq != 0 {
		t.Fatalf("schema-1 record: %+v, %d, %v", got, gotSeq, err)
	}
	for i := 0; i < len(v1); i++ {
		if _, err := decodeItem([]byte("k"), v1[:i]); err == nil {
			t.Fatalf("truncated record of %d/%d bytes accepted", i, len(v1))
		}
	}
}
