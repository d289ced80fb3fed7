package webdav

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestGuardReader_CRInTagAndComment_LeftAlone(t *testing.T) {
	in := "<a\r\nx='1\r\n>'><!-- c\r\n --><b>t\r\n</b><![CDATA[q\rr]]></a>"
	out, err := io.ReadAll(newGuardReader(strings.NewReader(in), 1<<20, 1<<20, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := "<a\r\nx='1\r\n>'><!-- c\r\n --><b>t&#13;\n</b><![CDATA[q]]>&#13;<![CDATA[r]]></a>"
	if !bytes.Equal(out, []byte(want)) {
		t.Errorf("got  %q\nwant %q", out, want)
	}
}
