package pingid

import (
	"context"
	"net/http"
	"testing"
)

// BenchmarkGetUserLoopback measures one full call (sign, HTTP over loopback, verify,
// decode) against the in-test fake, with the default concurrency.
func BenchmarkGetUserLoopback(b *testing.B) {
	f := newFakePingID(b)
	f.seed("jdoe", fakeUser{FName: strPtr("John"), Role: RoleRegular, Status: StatusActive, Devices: 1})
	c := f.client()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.GetUser(ctx, "jdoe"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSignRequest measures building and signing one request envelope.
func BenchmarkSignRequest(b *testing.B) {
	f := newFakePingID(b)
	c := f.client()
	body := []byte(`{"userName":"jdoe","getSameDeviceUsers":false}`)
	b.ReportAllocs()
	for b.Loop() {
		payload, err := buildRequestPayload(c.creds, c.now(), body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := signCompact(c.signer, payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeResponse measures verifying and decoding the golden response.
func BenchmarkDecodeResponse(b *testing.B) {
	key := mustDecodeKey(b, testBase64Key)
	body := []byte(goldenResponse)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeResponse(OpAddUser, "meredith", http.StatusOK, body, key); err != nil {
			b.Fatal(err)
		}
	}
}
