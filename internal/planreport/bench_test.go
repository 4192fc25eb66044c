package planreport

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"testing"
)

// syntheticPlan scales the real 400-user create plan to n users, in the same shape: the
// connection's after.users and planned_values both hold every user, as Terraform writes them.
func syntheticPlan(b *testing.B, n int) []byte {
	b.Helper()
	var plan map[string]any
	if err := json.Unmarshal(readFixture(b, filepath.Join(tfFixtures, "large-create.json")), &plan); err != nil {
		b.Fatal(err)
	}
	users := make(map[string]any, n)
	for i := range n {
		u := fmt.Sprintf("user%05d", i)
		users[u] = fmt.Sprintf(`{"dn":"uid=%s,ou=people,dc=example,dc=com","email":"%s@example.com","enabled":true,"first_name":"User","last_name":"%s","source_state":"in_scope","status":"NOT_ACTIVE"}`, u, u, u)
	}
	for _, rc := range list(plan["resource_changes"]) {
		after(obj(rc))["users"] = users
	}
	for _, r := range list(obj(obj(plan["planned_values"])["root_module"])["resources"]) {
		obj(obj(r)["values"])["users"] = users
	}
	out, err := json.Marshal(plan)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkReport: the review of a first plan (all creates) of N users, parse to rendered
// output. The issue 17 target is under 5 s and 500 MB at 50 000 (cmd/bench measures the command
// on a real plan of that size).
func BenchmarkReport(b *testing.B) {
	for _, n := range []int{1000, 50000} {
		plan := syntheticPlan(b, n)
		b.Run(fmt.Sprintf("markdown/%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(plan)))
			for b.Loop() {
				rep, err := Build(plan)
				if err != nil {
					b.Fatal(err)
				}
				if err := rep.WriteMarkdown(io.Discard, MarkdownOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("html/%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(plan)))
			for b.Loop() {
				rep, err := Build(plan)
				if err != nil {
					b.Fatal(err)
				}
				if err := rep.WriteHTML(io.Discard, HTMLOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
