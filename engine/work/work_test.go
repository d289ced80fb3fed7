package work

import (
	"testing"
	"time"
)

func TestMeter_KeepsTheStepInHandUntilDone(t *testing.T) {
	var m Meter
	if _, ok := m.Now(); ok {
		t.Fatal("a new meter reports a step")
	}
	s := Step{Account: "a", Calendar: "work", Op: Uploading, Total: 10}
	before := time.Now()
	m.Start(s)
	m.Add(1, 100)
	m.Add(2, 50)
	st, ok := m.Now()
	if !ok || st.Step != s || st.Done != 3 || st.Bytes != 150 || st.Since.Before(before) {
		t.Fatalf("Now = %+v, %v", st, ok)
	}
	m.Done()
	if st, ok := m.Now(); ok {
		t.Fatalf("after Done: %+v", st)
	}
	m.Start(Step{Account: "a", Calendar: "home", Op: Downloading})
	if st, _ := m.Now(); st.Done != 0 || st.Bytes != 0 || st.Calendar != "home" {
		t.Fatalf("a new step starts from nothing: %+v", st)
	}
}
