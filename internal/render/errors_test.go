package render

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorFormat(t *testing.T) {
	base := errors.New("boom")
	for _, tt := range []struct {
		err  *Error
		want string
	}{
		{&Error{Reason: BuildFailed, Err: base}, "boom"},
		{&Error{Reason: BuildFailed, File: "a/b.yaml", Err: base}, "a/b.yaml: boom"},
		{&Error{Reason: BuildFailed, File: "a/b.yaml", Line: 7, Err: base}, "a/b.yaml:7: boom"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if !errors.Is(tt.err, base) {
			t.Errorf("%v does not unwrap to its cause", tt.err)
		}
	}
	wrapped := fmt.Errorf("step: %w", &Error{Reason: LimitExceeded, Err: base})
	if ReasonOf(wrapped) != LimitExceeded || ReasonOf(base) != BuildFailed || ReasonOf(nil) != "" {
		t.Fatal("ReasonOf is wrong")
	}
}
