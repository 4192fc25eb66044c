package emulator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

func TestFault429WithRetryAfterAndCountExpiry(t *testing.T) {
	tn := newTenant(t)
	tn.srv.SetFault("adduser", emulator.Fault{Rate429: 1, RetryAfter: 1500 * time.Millisecond, Count: 2})
	body := tn.documentedRequest(map[string]any{"userName": "patient"}).compact(t)
	for i := range 2 {
		resp, _, err := tn.post(t, "adduser", body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
			t.Fatalf("call %d: HTTP %d Retry-After %q, want 429 and 2 (1.5 s rounded up)", i, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	if len(tn.srv.Users()) != 0 {
		t.Fatal("a 429 answer processed the call")
	}
	expectError(t, tn.send(t, "adduser", body), 200) // Count used up: the fault cleared itself
	if faults := tn.srv.Faults(); len(faults) != 0 {
		t.Fatalf("faults left after Count: %v", faults)
	}
	if got := tn.srv.Calls()["adduser"]; got != 3 {
		t.Fatalf("calls = %d, want 3 (faulted calls count)", got)
	}
}

func TestFaultServerErrors(t *testing.T) {
	for _, tc := range []struct {
		fault  emulator.Fault
		status int
	}{
		{emulator.Fault{Rate500: 1}, http.StatusInternalServerError},
		{emulator.Fault{Rate503: 1, RetryAfter: time.Second}, http.StatusServiceUnavailable},
	} {
		tn := newTenant(t)
		tn.srv.SetFault("*", tc.fault)
		resp, raw, err := tn.post(t, "adduser", tn.documentedRequest(map[string]any{"userName": "x"}).compact(t))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.status {
			t.Fatalf("HTTP %d, want %d: %s", resp.StatusCode, tc.status, raw)
		}
		if _, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.HS256}); err == nil {
			t.Fatalf("HTTP %d body is a signed JWS; a service error should not be", tc.status)
		}
		if len(tn.srv.Users()) != 0 {
			t.Fatalf("HTTP %d fault processed the call", tc.status)
		}
	}
}

func TestFaultDropLosesTheCall(t *testing.T) {
	tn := newTenant(t)
	tn.srv.SetFault("adduser", emulator.Fault{DropRate: 1, Count: 1})
	body := tn.documentedRequest(map[string]any{"userName": "dropped"}).compact(t)
	if _, _, err := tn.post(t, "adduser", body); err == nil {
		t.Fatal("dropped connection produced a response")
	}
	if _, exists := tn.srv.User("dropped"); exists {
		t.Fatal("DropRate processed the call")
	}
	expectError(t, tn.send(t, "adduser", body), 200)
}

// The "lost adduser response": the user is created, the client never hears about it.
func TestFaultDropAfterProcessChangesState(t *testing.T) {
	tn := newTenant(t)
	tn.srv.SetFault("adduser", emulator.Fault{DropAfterProcessRate: 1, Count: 1})
	body := tn.documentedRequest(map[string]any{"userName": "lost"}).compact(t)
	if _, _, err := tn.post(t, "adduser", body); err == nil {
		t.Fatal("dropped connection produced a response")
	}
	if _, exists := tn.srv.User("lost"); !exists {
		t.Fatal("DropAfterProcessRate did not process the call")
	}
	// A blind retry now collides with the user the lost call created.
	expectError(t, tn.send(t, "adduser", body), 10556)
}

func TestFaultBadSignature(t *testing.T) {
	tn := newTenant(t)
	tn.srv.SetFault("getuserdetails", emulator.Fault{BadSignatureRate: 1, Count: 1})
	if err := tn.srv.SeedUser(emulator.User{UserName: "u"}); err != nil {
		t.Fatal(err)
	}
	body := tn.documentedRequest(map[string]any{"userName": "u"}).compact(t)
	resp, raw, err := tn.post(t, "getuserdetails", body)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		t.Fatalf("bad-signature response is not a JWS: %v", err)
	}
	if _, err := jws.Verify(tn.key); err == nil {
		t.Fatal("bad-signature response verified with the tenant key")
	}
	// It is otherwise a perfectly plausible "ok": exactly what a client must not believe.
	var payload struct {
		ResponseBody struct {
			ErrorID int `json:"errorId"`
		} `json:"responseBody"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &payload); err != nil || payload.ResponseBody.ErrorID != 200 || resp.StatusCode != 200 {
		t.Fatalf("forged payload = %+v (HTTP %d, %v)", payload, resp.StatusCode, err)
	}
	expectError(t, tn.send(t, "getuserdetails", body), 200) // next call verifies again
}

func TestFaultPrecedenceAndClear(t *testing.T) {
	tn := newTenant(t)
	tn.srv.SetFault("", emulator.Fault{Rate500: 1}) // every op
	tn.srv.SetFault("AddUser", emulator.Fault{})    // adduser overridden: no fault
	body := tn.documentedRequest(map[string]any{"userName": "p"}).compact(t)
	expectError(t, tn.send(t, "adduser", body), 200)
	if resp, _, _ := tn.post(t, "getuserdetails", body); resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("getuserdetails under the * fault: HTTP %d", resp.StatusCode)
	}
	tn.srv.ClearFaults()
	expectError(t, tn.send(t, "getuserdetails", body), 200)
}

func TestFaultRateIsAFraction(t *testing.T) {
	tn := newTenant(t)
	if err := tn.srv.SeedUser(emulator.User{UserName: "u"}); err != nil {
		t.Fatal(err)
	}
	tn.srv.SetFault("getuserdetails", emulator.Fault{Rate500: 0.5})
	body := tn.documentedRequest(map[string]any{"userName": "u"}).compact(t)
	const calls = 200
	failed := 0
	for range calls {
		resp, _, err := tn.post(t, "getuserdetails", body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusInternalServerError {
			failed++
		}
	}
	// Both bounds fail with probability 2^-200 for a correct implementation.
	if failed == 0 || failed == calls {
		t.Fatalf("%d of %d calls failed at rate 0.5", failed, calls)
	}
}

func TestFaultLatency(t *testing.T) {
	tn := newTenant(t)
	tn.srv.SetFault("adduser", emulator.Fault{Latency: 10 * time.Millisecond})
	expectError(t, tn.call(t, "adduser", map[string]any{"userName": "slow"}), 200)

	// A latency longer than any test must end when the client goes away, without processing.
	tn.srv.SetFault("adduser", emulator.Fault{Latency: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	body := tn.documentedRequest(map[string]any{"userName": "abandoned"}).compact(t)
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/pingid/rest/4/adduser/do", strings.NewReader(body))
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		tn.srv.ServeHTTP(rec, req)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("ServeHTTP kept waiting out the latency after the request context was cancelled")
	}
	if rec.Body.Len() != 0 {
		t.Fatalf("abandoned call wrote %q", rec.Body.String())
	}
	if _, exists := tn.srv.User("abandoned"); exists {
		t.Fatal("abandoned call was processed")
	}
}

func TestCallsCountEveryRequest(t *testing.T) {
	tn := newTenant(t)
	tn.call(t, "getuserdetails", map[string]any{"userName": "ghost"}) // 10564
	tn.send(t, "getuserdetails", "garbage")                           // envelope failure
	tn.call(t, "adduser", map[string]any{"userName": "a"})
	tn.srv.SetFault("adduser", emulator.Fault{Rate503: 1, Count: 1})
	if resp, _, err := tn.post(t, "adduser", "x"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("faulted adduser: %v, %v; want HTTP 503", resp, err)
	}
	want := map[string]int64{"getuserdetails": 2, "adduser": 2}
	got := tn.srv.Calls()
	if len(got) != len(want) || got["getuserdetails"] != 2 || got["adduser"] != 2 {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	tn.srv.ResetCalls()
	if got := tn.srv.Calls(); len(got) != 0 {
		t.Fatalf("after ResetCalls: %v", got)
	}
}
