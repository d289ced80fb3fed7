package config

import (
	"errors"
	"testing"
)

func TestConfig_DeleteCollections_NeverByDefault_EmptyPerAccount_OtherValuesNamedByLine(t *testing.T) {
	cfg, err := Parse("cfg.toml", []byte("[[account]]\nname = \"a\"\nurl = \"https://x/\"\nlocal_root = \"/tmp/a\"\n"+
		"[[account]]\nname = \"b\"\nurl = \"https://y/\"\nlocal_root = \"/tmp/b\"\ndelete_collections = \"empty\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := cfg.Accounts[0].DeleteCollections, cfg.Accounts[1].DeleteCollections; a != DeleteNever || b != DeleteEmpty {
		t.Errorf("delete_collections: a %q (unset), b %q (\"empty\")", a, b)
	}
	_, err = Parse("cfg.toml", []byte("[[account]]\nurl = \"https://x/\"\n\ndelete_collections = \"always\"\n"))
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 4 {
		t.Fatalf("delete_collections = \"always\": %v, want an error on line 4", err)
	}
}
