package state

import (
	"reflect"
	"testing"
)

func TestItemRecord_RoundTrip_TruncationIsAnErrorNotAPanic(t *testing.T) {
	it := Item{Href: "/a.ics", ETag: `W/"x"`, Name: "a.ics", Hash: "h", UID: "ü",
		Fingerprint: Fingerprint{Size: -1, ModNs: 1 << 62, Inode: 1<<64 - 1}}
	enc := encodeItem(it)
	got, err := decodeItem([]byte(it.Href), enc)
	if err != nil || !reflect.DeepEqual(got, it) {
		t.Fatalf("decode = %+v, %v", got, err)
	}
	// Fields appended by a later format must not break this one.
	if got, err := decodeItem([]byte(it.Href), append(enc, 9, 9, 9)); err != nil || !reflect.DeepEqual(got, it) {
		t.Fatalf("with trailer: %+v, %v", got, err)
	}
	for i := 0; i < len(enc); i++ {
		if _, err := decodeItem([]byte("k"), enc[:i]); err == nil {
			t.Fatalf("truncated record of %d/%d bytes accepted", i, len(enc))
		}
	}
}
