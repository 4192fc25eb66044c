package planreport

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzBuild: whatever the input, Build returns a report or an *InputError (never panics, never
// another error), and a report renders in both formats.
func FuzzBuild(f *testing.F) {
	// Small seeds: the real fixtures (15-200 KB) make each fuzz run slow; TestBadInput and the
	// golden tests cover them.
	f.Add([]byte(`{"format_version":"1.2","resource_changes":[{"address":"pingid_provisioning_connection.c","mode":"managed","type":"pingid_provisioning_connection",` +
		`"change":{"actions":["update"],"before":{"users":{"a":"{\"enabled\":true}"}},"after":{"users":{"a":"{\"enabled\":false,\"devices\":{\"mfa_sms_1\":1}}","b":"[]"}}}}]}`))
	f.Add([]byte(`{"format_version":"1.2","resource_changes":[{"address":"pingid_mapped_user.m[\"x\"]","mode":"managed","type":"pingid_mapped_user","index":"x",` +
		`"change":{"actions":["delete","create"],"before":{"enabled":"yes"},"after":null,"after_unknown":{"users":{"x":true}}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Build(data)
		if err != nil {
			var inErr *InputError
			if !errors.As(err, &inErr) {
				t.Fatalf("Build returned a %T: %v", err, err)
			}
			return
		}
		var b bytes.Buffer
		if err := rep.WriteMarkdown(&b, MarkdownOptions{Limit: 2000}); err != nil {
			t.Fatal(err)
		}
		if err := rep.WriteHTML(&b, HTMLOptions{PageRows: 2}); err != nil {
			t.Fatal(err)
		}
		gates, err := ParseGates([]string{"any>1,deprovision"})
		if err != nil {
			t.Fatal(err)
		}
		rep.Check(gates)
	})
}
