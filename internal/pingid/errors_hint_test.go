package pingid

import (
	"errors"
	"strings"
	"testing"
)

func TestUnsignedRejectionNamesTheCredentials(t *testing.T) {
	body := []byte(`{"responseBody":{"errorId":400,"errorMsg":"Invalid input.","uniqueMsgId":"webs_x","clientData":null}}`)
	_, err := decodeResponse("getuserdetails", "alice", 400, body, make([]byte, 32))
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !apiErr.Unsigned || !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("err = %#v, want an unsigned invalid-input APIError", err)
	}
	for _, want := range []string{"org_alias", "token", "use_base64_key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not point at %s", err, want)
		}
	}
}
