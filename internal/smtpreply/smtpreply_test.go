package smtpreply

import (
	"testing"

	"github.com/emersion/go-smtp"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		code     int
		text     string
		wantCode smtp.EnhancedCode
		wantText string
	}{
		{550, "5.1.1 No such user", smtp.EnhancedCode{5, 1, 1}, "No such user"},
		{550, "5.1.1 No such\n5.1.1 user here", smtp.EnhancedCode{5, 1, 1}, "No such\nuser here"},
		{554, "5.7.1 rejected\n5.7.1 reference X", smtp.EnhancedCode{5, 7, 1}, "rejected\nreference X"},
		{250, "2.0.0\nnext line", smtp.EnhancedCode{2, 0, 0}, "\nnext line"},
		{451, "5.7.0 mixed classes", smtp.EnhancedCode{}, "5.7.0 mixed classes"},
		{550, "no code here", smtp.EnhancedCode{}, "no code here"},
		{550, "5.1 too short", smtp.EnhancedCode{}, "5.1 too short"},
		{550, "5.1.1234 too long", smtp.EnhancedCode{}, "5.1.1234 too long"},
		{550, "5.x.1 not digits", smtp.EnhancedCode{}, "5.x.1 not digits"},
	} {
		ec, text := Split(tc.code, tc.text)
		if ec != tc.wantCode || text != tc.wantText {
			t.Errorf("Split(%d, %q) = %v %q, want %v %q", tc.code, tc.text, ec, text, tc.wantCode, tc.wantText)
		}
	}
}
