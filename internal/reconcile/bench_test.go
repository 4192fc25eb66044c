package reconcile

import (
	"fmt"
	"testing"
)

// benchInput is n managed users of which 1 % change: 0.4 % mail changes, 0.2 % leave the
// group, 0.2 % are disabled in the directory and 0.2 % are new (half of them existing in PingID).
func benchInput(n int) Input {
	in := Input{Prior: make(map[string]Entry, n), PriorAdmins: map[string]bool{}, OutOfScope: map[string]DirectoryUser{},
		Existing: map[string]PingIDUser{}, Options: defaultOptions()}
	for i := range n {
		name := fmt.Sprintf("user%06d", i)
		dn := "uid=" + name + ",ou=people,dc=example,dc=com"
		mail := name + "@example.com"
		in.Prior[name] = Entry{DN: dn, Email: mail, FirstName: "First", LastName: "Last", Enabled: true, Status: "ACTIVE", SourceState: SourceInScope}
		d := DirectoryUser{Username: name, DN: dn, Enabled: true, Email: strp(mail), FirstName: strp("First"), LastName: strp("Last")}
		switch i % 500 {
		case 0, 1:
			d.Email = strp("new." + mail)
		case 2:
			in.OutOfScope[name] = d
			continue
		case 3:
			d.Enabled = false
		case 4:
			delete(in.Prior, name)
			if i%1000 == 4 {
				in.Existing[name] = PingIDUser{Username: name, Email: mail, Status: "ACTIVE", Role: "REGULAR"}
			}
		}
		in.InScope = append(in.InScope, d)
	}
	return in
}

func benchmarkPlan(b *testing.B, n int) {
	in := benchInput(n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := Plan(in)
		if err != nil || len(res.Actions) != n/100 {
			b.Fatalf("Plan: %d actions, %v; want %d actions", len(res.Actions), err, n/100)
		}
	}
	// Constant across sizes when Plan is linear.
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/user")
}

func BenchmarkPlan10k(b *testing.B) { benchmarkPlan(b, 10_000) }
func BenchmarkPlan50k(b *testing.B) { benchmarkPlan(b, 50_000) }

func benchmarkDiff(b *testing.B, n int) {
	in := benchInput(n)
	res, err := Plan(in)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if got := Diff(in.Prior, res.Planned, res.LinkSet); len(got) != len(res.Actions) {
			b.Fatalf("Diff: %d actions, want %d", len(got), len(res.Actions))
		}
	}
}

func BenchmarkDiff10k(b *testing.B) { benchmarkDiff(b, 10_000) }
func BenchmarkDiff50k(b *testing.B) { benchmarkDiff(b, 50_000) }

// BenchmarkUsersRoundTrip50k is the (de)serialisation of the whole `users` map each plan does.
func BenchmarkUsersRoundTrip50k(b *testing.B) {
	users := benchInput(50_000).Prior
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		back, err := ParseUsers(EncodeUsers(users))
		if err != nil || len(back) != len(users) {
			b.Fatalf("round trip: %d users, %v", len(back), err)
		}
	}
}

func BenchmarkEntryJSON(b *testing.B) {
	e := benchInput(1).Prior["user000000"]
	for b.Loop() {
		_ = e.JSON()
	}
}
