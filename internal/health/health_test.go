package health

import (
	"errors"
	"testing"
)

func TestStateRunOfFailures(t *testing.T) {
	var s State
	if !s.FailingSince().IsZero() || s.Last() != nil {
		t.Fatal("zero State is not healthy")
	}
	s.Fail(errors.New("connection refused"))
	first := s.FailingSince()
	if first.IsZero() {
		t.Fatal("a failure did not start a run")
	}
	s.Fail(errors.New("timeout"))
	if !s.FailingSince().Equal(first) {
		t.Error("a second failure moved the start of the run")
	}
	if s.Failures() != 2 || s.Last().Err != "timeout" {
		t.Errorf("failures %d, last %q; want 2, timeout", s.Failures(), s.Last().Err)
	}
	s.OK()
	if !s.FailingSince().IsZero() || s.Failures() != 0 {
		t.Error("a success did not end the run")
	}
	if s.Last() == nil || s.Last().Err != "timeout" {
		t.Error("the last error is forgotten after the run ended")
	}
	var nilState *State
	nilState.Fail(errors.New("x"))
	nilState.OK()
	if !nilState.FailingSince().IsZero() {
		t.Error("nil State reports failing")
	}
}
