package local

import (
	"errors"

	"github.com/vdird/vdird/internal/setsum"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// maxChanges bounds what ScanChanged looks for: a folder with more moved
// or new files goes through a full pass instead.
const maxChanges = 1000

var errTooMany = errors.New("too many changed files for a scoped pass")

// Records is what the folder is compared with: state's sum of a
// collection's recorded files, whole and by shard, and its items by file
// name. *state.Store has it.
type Records interface {
	FileSum(key string) (setsum.Sum, error)
	FileShards(key string) (setsum.Shards, error)
	ItemsByName(key string, names []string) (map[string]state.Item, error)
}

// Folder is the file sum of a folder, whole and by shard.
type Folder struct {
	Sum    setsum.Sum
	Shards *setsum.Shards
}

// AsRecorded tells, without loading the items or listing the folder into
// memory, that the folder at dir, of item files ending in ext, is exactly
// as state recorded collection key: its file sum (every item file's name and stat fingerprint) equals
// the recorded one, and no crash left temp files. It returns the folder's
// sum when it could compute it. Any doubt means false, and a full pass,
// which is always right; with an unchanged change marker this makes an
// idle poll cost constant memory and no planning.
func AsRecorded(dir, ext string, rec Records, key string) (f Folder, same bool) {
	d, err := vdir.Open(dir, ext)
	if err != nil {
		return Folder{}, false
	}
	shards, temps, err := d.Shards()
	if err != nil || temps {
		return Folder{}, false
	}
	f = Folder{Sum: shards.Total(), Shards: &shards}
	want, err := rec.FileSum(key)
	return f, err == nil && f.Sum == want
}

// Scan is what ScanChanged found in a folder that only gained or changed
// files since the last pass.
type Scan struct {
	Changed      []vdir.Entry          // new files, or recorded ones whose fingerprint moved
	ChangedKnown map[string]state.Item // the recorded items of moved files, by name
	Recorded     setsum.Sum            // state's sum of the recorded files
}

// ScanChanged reads the folder d of collection key in chunks and looks
// each chunk's names up in rec, keeping only the files whose fingerprint
// moved and new ones, so memory follows the change, not the folder. With
// the folder's sum by shard (folder, from AsRecorded; Shards nil: unknown),
// only the files of the shards whose sum differs from state's are looked up: the
// others hold exactly the recorded files. With 256 shards, one edit in a
// 100k-item folder costs about 400 lookups instead of 100,000. ok is false
// when a scoped pass cannot tell (a recorded file is missing, temp files,
// too many changes); err is a state error.
func ScanChanged(d *vdir.Dir, rec Records, key string, folder Folder) (scan Scan, ok bool, err error) {
	if scan.Recorded, err = rec.FileSum(key); err != nil {
		return scan, false, err
	}
	scan.ChangedKnown = map[string]state.Item{}
	want, expectKnown := func(string) bool { return true }, scan.Recorded.N
	if folder.Shards != nil {
		recorded, err := rec.FileShards(key)
		if err != nil {
			return scan, false, err
		}
		want, expectKnown = differing(folder.Shards, &recorded)
	}
	var (
		seenKnown int64 // recorded files found
		chunk     []vdir.Entry
	)
	check := func() error {
		names := make([]string, len(chunk))
		for i, e := range chunk {
			names[i] = e.Name
		}
		known, err := rec.ItemsByName(key, names)
		if err != nil {
			return err
		}
		for _, e := range chunk {
			k, ok := known[e.Name]
			if ok {
				seenKnown++
				if SameFP(k.Fingerprint, e.Fingerprint) {
					continue
				}
				scan.ChangedKnown[e.Name] = k
			}
			if scan.Changed = append(scan.Changed, e); len(scan.Changed) > maxChanges {
				return errTooMany
			}
		}
		chunk = chunk[:0]
		return nil
	}
	temps, err := d.EachNamed(want, func(e vdir.Entry) error {
		if chunk = append(chunk, e); len(chunk) == 512 {
			return check()
		}
		return nil
	})
	if err == nil {
		err = check()
	}
	if err != nil && !errors.Is(err, errTooMany) {
		return scan, false, err
	}
	if err != nil || temps || seenKnown != expectKnown {
		return scan, false, nil // too big, crash leftovers, or a recorded file is gone
	}
	return scan, true, nil
}

// differing returns which file names fall in a shard whose sum in folder
// differs from the recorded one, and how many recorded files those shards
// hold: the only files a scan of the folder needs to look up.
func differing(folder, recorded *setsum.Shards) (want func(name string) bool, recordedFiles int64) {
	var look [setsum.ShardCount]bool
	for _, i := range folder.Differ(recorded) {
		look[i] = true
		recordedFiles += recorded[i].N
	}
	return func(name string) bool { return look[setsum.ShardOf(name)] }, recordedFiles
}
