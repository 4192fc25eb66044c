package planreport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var tfFixtures = filepath.Join("testdata", "plans", "terraform-1.5.7")

// rowsOf returns "connection/user/action" for every row, sorted.
func rowsOf(rep *Report) []string {
	var out []string
	for _, row := range rep.Rows() {
		out = append(out, row.Connection+"/"+row.User+"/"+string(row.Action))
	}
	slices.Sort(out)
	return out
}

// TestActionsOfRealPlans pins what the review finds in the real plans, row by row: the golden
// files show how it is written, this says what it must contain.
func TestActionsOfRealPlans(t *testing.T) {
	cases := map[string][]string{
		"initial": {
			"corp/alice/create", "corp/bob/create", "corp/carol/create", "corp/henry/link", "corp/ivan/create", "corp/mallory/create",
			"partners/frank/create",
			"pingid_mapped_user.staff/judy/create", "pingid_mapped_user.staff/ken/create",
		},
		"changes": {
			"corp/alice/update", "corp/bob/enable", "corp/carol/disable", "corp/dave/create", "corp/erin/link",
			"corp/mallory/disable",
			"partners/frank/delete", "partners/grace/create",
			"pingid_mapped_user.staff/judy/disable", "pingid_mapped_user.staff/ken/update", "pingid_mapped_user.staff/liam/create",
		},
		"destroy": {
			"corp/alice/disable", "corp/carol/disable", "corp/mallory/disable",
			"pingid_mapped_user.staff/judy/disable", "pingid_mapped_user.staff/ken/disable",
		},
	}
	// Written only by a build with issue 14's devices (see TestPlanReportFixtures).
	deviceCases := map[string][]string{
		"devices-initial": {"phones/alice/create", "phones/bob/create", "phones/carol/create"},
		"devices-changes": {"phones/alice/device_change", "phones/alice/device_remove", "phones/bob/device_remove", "phones/carol/device_add"},
	}
	// Every CLI's plans (Terraform's, OpenTofu's) must give the same rows.
	clis, err := filepath.Glob(filepath.Join("testdata", "plans", "*"))
	if err != nil || len(clis) == 0 {
		t.Fatalf("no fixture directories: %v", err)
	}
	for _, dir := range clis {
		for name, want := range cases {
			t.Run(filepath.Base(dir)+"/"+name, func(t *testing.T) {
				rep := build(t, readFixture(t, filepath.Join(dir, name+".json")))
				if got := rowsOf(rep); !slices.Equal(got, want) {
					t.Errorf("rows:\n got %q\nwant %q", got, want)
				}
			})
		}
		for name, want := range deviceCases {
			path := filepath.Join(dir, name+".json")
			if _, err := os.Stat(path); err != nil {
				continue
			}
			t.Run(filepath.Base(dir)+"/"+name, func(t *testing.T) {
				if got := rowsOf(build(t, readFixture(t, path))); !slices.Equal(got, want) {
					t.Errorf("rows:\n got %q\nwant %q", got, want)
				}
			})
		}
	}
}

func resourceNamed(t *testing.T, rep *Report, name string) *Resource {
	t.Helper()
	for _, res := range rep.Resources {
		if res.Name == name {
			return res
		}
	}
	t.Fatalf("no resource %q", name)
	return nil
}

func TestBrakeHeadroom(t *testing.T) {
	rep := build(t, readFixture(t, filepath.Join(tfFixtures, "changes.json")))
	corp := resourceNamed(t, rep, "corp")
	if corp.Deprovisions != 2 || corp.Managed != 6 {
		t.Fatalf("corp: %d deprovisions of %d managed, want 2 of 6", corp.Deprovisions, corp.Managed)
	}
	if got := BrakeText(corp, "max_deprovisions"); got != "5 allowed: 3 left" {
		t.Errorf("max_deprovisions: %q", got)
	}
	if got := BrakeText(corp, "max_deprovisions_percent"); got != "50 % of 7 managed = 3 allowed: 1 left" {
		t.Errorf("max_deprovisions_percent = 50: %q", got)
	}
	// partners leaves the share unset: the provider's default of 20 % applies.
	if got := BrakeText(resourceNamed(t, rep, "partners"), "max_deprovisions_percent"); got != "20 % of 1 managed = 1 allowed: 0 left" {
		t.Errorf("partners, max_deprovisions_percent unset: %q", got)
	}
	if got := BrakeText(resourceNamed(t, rep, "partners"), "max_deprovisions"); got != "10 allowed: 9 left" {
		t.Errorf("partners (a delete counts): %q", got)
	}

	// The percent brake (issue 13), on the same real plan with the setting added.
	for _, c := range []struct {
		pct  any
		want string
	}{
		// 6 managed before the plan + erin, whom it links.
		{json.Number("50"), "50 % of 7 managed = 3 allowed: 1 left"},
		{json.Number("20"), "20 % of 7 managed = 1 allowed: 0 left (over by 1: applying this plan fails)"},
		{json.Number("5"), "5 % of 7 managed = 1 allowed: 0 left (over by 1: applying this plan fails)"}, // at least one
		{json.Number("0"), "0 % of 7 managed = 0 allowed: 0 left (over by 2: applying this plan fails)"},
		{json.Number("-1"), "-1 (off): no limit"},
	} {
		plan := mutatePlan(t, func(rc map[string]any) {
			after(rc)["max_deprovisions_percent"] = c.pct
		})
		got := BrakeText(resourceNamed(t, build(t, plan), "corp"), "max_deprovisions_percent")
		if got != c.want {
			t.Errorf("max_deprovisions_percent = %v: %q, want %q", c.pct, got, c.want)
		}
	}
}

// mutatePlan loads the real change plan, lets edit change the corp connection's resource
// change, and returns the plan JSON.
func mutatePlan(t *testing.T, edit func(rc map[string]any)) []byte {
	t.Helper()
	return mutateResource(t, "pingid_provisioning_connection.corp", edit)
}

// mutateResource is mutatePlan for the resource change at address.
func mutateResource(t *testing.T, address string, edit func(rc map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(readFixture(t, filepath.Join(tfFixtures, "changes.json"))))
	dec.UseNumber()
	var plan map[string]any
	if err := dec.Decode(&plan); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, rc := range list(plan["resource_changes"]) {
		m := obj(rc)
		if m["address"] == address {
			edit(m)
			found = true
		}
	}
	if !found {
		t.Fatalf("changes.json has no %s", address)
	}
	out, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// obj, list and str are checked type assertions for editing decoded plan JSON in tests.
func obj(v any) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		panic(fmt.Sprintf("not a JSON object: %T", v))
	}
	return m
}

func list(v any) []any {
	l, ok := v.([]any)
	if !ok {
		panic(fmt.Sprintf("not a JSON array: %T", v))
	}
	return l
}

func str(v any) string {
	s, ok := v.(string)
	if !ok {
		panic(fmt.Sprintf("not a JSON string: %T", v))
	}
	return s
}

func change(rc map[string]any) map[string]any { return obj(rc["change"]) }
func after(rc map[string]any) map[string]any  { return obj(change(rc)["after"]) }
func before(rc map[string]any) map[string]any { return obj(change(rc)["before"]) }

// setUser edits one user's JSON value in a users map.
func setUser(t *testing.T, values map[string]any, user string, edit func(e map[string]any)) {
	t.Helper()
	var e map[string]any
	users := obj(values["users"])
	if err := json.Unmarshal([]byte(str(users[user])), &e); err != nil {
		t.Fatal(err)
	}
	edit(e)
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	users[user] = string(b)
}

// TestDevices: the devices/other_devices fields of the users JSON (provider-interface.md, issue
// 14), added to the real change plan: each kind of device change is a row of its own, in the
// section that says what it does to access, next to the user's other changes.
func TestDevices(t *testing.T) {
	plan := mutatePlan(t, func(rc map[string]any) {
		setUser(t, before(rc), "alice", func(e map[string]any) {
			e["devices"] = map[string]any{"mfa_sms_1": "+15550100001", "mfa_email_1": "alice@example.com"}
			e["other_devices"] = []any{"iPhone: iPhone of alice"}
		})
		setUser(t, after(rc), "alice", func(e map[string]any) {
			e["devices"] = map[string]any{"mfa_sms_1": "+15550100002", "mfa_voice_1": "+15550100003"}
			e["other_devices"] = []any{}
		})
		setUser(t, after(rc), "dave", func(e map[string]any) {
			e["devices"] = map[string]any{"mfa_sms_1": "+15550100004"}
		})
	})
	rep := build(t, plan)
	got := map[Action][]string{}
	for _, row := range rep.Rows() {
		if row.User != "alice" && row.User != "dave" {
			continue
		}
		var fields []string
		for _, ch := range row.Changes {
			fields = append(fields, ch.Field+"="+deref(ch.Old)+">"+deref(ch.New))
		}
		got[row.Action] = append(got[row.Action], row.User+":"+strings.Join(fields, ","))
	}
	want := map[Action][]string{
		ActionUpdate:       {"alice:email=alice@example.com>alice.adams@example.com"},
		ActionDeviceAdd:    {"alice:devices.mfa_voice_1=>+15550100003"},
		ActionDeviceChange: {"alice:devices.mfa_sms_1=+15550100001>+15550100002"},
		ActionDeviceRemove: {"alice:devices.mfa_email_1=alice@example.com>,other_devices=iPhone: iPhone of alice>"},
		ActionCreate: {"dave:email=>dave@example.com,first_name=>Dave,last_name=>Davis,enabled=>true,dn=>uid=dave,ou=people,dc=example,dc=com," +
			"devices.mfa_sms_1=>+15550100004"},
	}
	for a, w := range want {
		if !slices.Equal(got[a], w) {
			t.Errorf("%s rows: got %q, want %q", a, got[a], w)
		}
	}
	if rep.Counts[ActionDeviceAdd] != 1 || rep.Counts[ActionDeviceRemove] != 1 || rep.Counts[ActionDeviceChange] != 1 {
		t.Errorf("device counts: %v", rep.Counts)
	}
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	widening := md.String()[strings.Index(md.String(), "### Access widening"):strings.Index(md.String(), "### Access removing")]
	if !strings.Contains(widening, "device_add") || !strings.Contains(widening, "device_change") {
		t.Errorf("new and changed devices must be in Access widening:\n%s", widening)
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// TestMappedUserDevices: pingid_mapped_user's devices (issue 14) on the real change plan's
// update of ken; an other_devices known only after apply is neither a removal nor hidden.
func TestMappedUserDevices(t *testing.T) {
	plan := mutateResource(t, `pingid_mapped_user.staff["ken"]`, func(rc map[string]any) {
		before(rc)["devices"] = map[string]any{"mfa_sms_1": "+15550100001"}
		before(rc)["other_devices"] = []any{"iPhone: iPhone of ken"}
		after(rc)["devices"] = map[string]any{"mfa_sms_1": "+15550100002", "mfa_email_1": "ken.king@example.com"}
		delete(after(rc), "other_devices")
		obj(change(rc)["after_unknown"])["other_devices"] = true
	})
	got := map[Action]string{}
	for _, row := range build(t, plan).Rows() {
		if row.User != "ken" {
			continue
		}
		var fields []string
		for _, ch := range row.Changes {
			fields = append(fields, ch.Field+"="+deref(ch.Old)+">"+deref(ch.New))
		}
		got[row.Action] = strings.Join(fields, ",")
	}
	want := map[Action]string{
		ActionUpdate:       "email=ken@example.com>ken.king@example.com,other_devices=[\"iPhone: iPhone of ken\"]>(known after apply)",
		ActionDeviceAdd:    "devices.mfa_email_1=>ken.king@example.com",
		ActionDeviceChange: "devices.mfa_sms_1=+15550100001>+15550100002",
	}
	if len(got) != len(want) {
		t.Errorf("rows for ken: %v, want %v", got, want)
	}
	for a, w := range want {
		if got[a] != w {
			t.Errorf("%s: got %q, want %q", a, got[a], w)
		}
	}
}

// TestLeftSuspended: issue 13's default keeps a user suspended outside Terraform as PingID has
// it (ivan in the real change plan, planned unchanged): no row, but a note names him.
func TestLeftSuspended(t *testing.T) {
	// The real plan: henry and ivan were suspended in PingID while in scope, and the connection
	// (reactivate_suspended_users unset) leaves them so.
	rep := build(t, readFixture(t, filepath.Join(tfFixtures, "changes.json")))
	for _, row := range rep.Rows() {
		if row.User == "ivan" || row.User == "henry" {
			t.Errorf("%s is left as he is, yet has a row: %+v", row.User, row)
		}
	}
	notes := strings.Join(resourceNamed(t, rep, "corp").Notes, "\n")
	if !strings.Contains(notes, "2 users suspended in PingID outside Terraform stay suspended") || !strings.Contains(notes, ": henry, ivan.") {
		t.Errorf("corp notes: %s", notes)
	}
}

// TestUnknownFieldsAreShown: a plan from a newer provider with a field this report does not
// know still shows that field's change instead of dropping it.
func TestUnknownFieldsAreShown(t *testing.T) {
	plan := mutatePlan(t, func(rc map[string]any) {
		setUser(t, after(rc), "alice", func(e map[string]any) { e["future_field"] = "x" })
		delete(after(rc), "max_deprovisions") // an older or newer provider without the setting
	})
	rep := build(t, plan)
	for _, row := range rep.Rows() {
		if row.User == "alice" {
			if row.Action != ActionUpdate || len(row.Changes) != 2 || row.Changes[1].Field != "future_field" || deref(row.Changes[1].New) != "x" {
				t.Errorf("alice: %+v", row)
			}
		}
	}
	if got := BrakeText(resourceNamed(t, rep, "corp"), "max_deprovisions"); got != "not in this plan" {
		t.Errorf("absent max_deprovisions: %q", got)
	}
}

func TestUsersKnownOnlyAfterApply(t *testing.T) {
	plan := mutatePlan(t, func(rc map[string]any) {
		delete(after(rc), "users")
		change(rc)["after_unknown"] = map[string]any{"users": true}
	})
	rep := build(t, plan)
	corp := resourceNamed(t, rep, "corp")
	if !corp.UsersUnknown || corp.Counts[ActionEnable] != 0 {
		t.Fatalf("corp: unknown=%v counts=%v", corp.UsersUnknown, corp.Counts)
	}
	gates, err := ParseGates([]string{"enable>10"})
	if err != nil {
		t.Fatal(err)
	}
	fails := rep.Check(gates)
	if len(fails) != 1 || !strings.Contains(fails[0].String(), "known only after apply") {
		t.Errorf("a gate over unknown users must fail: %v", fails)
	}
}

func TestGates(t *testing.T) {
	rep := build(t, readFixture(t, filepath.Join(tfFixtures, "changes.json")))
	cases := []struct {
		specs []string
		fail  []string // failing gate specs with their row count
	}{
		{[]string{"enable"}, []string{"enable:1"}}, // bob (ivan, suspended in PingID, stays suspended)
		{[]string{"enable>1"}, nil},
		{[]string{"deprovision>3"}, []string{"deprovision>3:4"}}, // carol, mallory, frank, judy
		{[]string{"deprovision>4"}, nil},
		{[]string{"widening>1,delete", "create>3"}, []string{"widening>1:2", "delete:1"}},
		{[]string{"device"}, nil},
		{[]string{" Link > 0 "}, []string{"Link > 0:1"}},
	}
	for _, c := range cases {
		gates, err := ParseGates(c.specs)
		if err != nil {
			t.Fatalf("%q: %v", c.specs, err)
		}
		var got []string
		for _, f := range rep.Check(gates) {
			got = append(got, f.Gate.Spec+":"+strconv.Itoa(len(f.Rows)))
		}
		if !slices.Equal(got, c.fail) {
			t.Errorf("%q: failed %q, want %q", c.specs, got, c.fail)
		}
	}
	for _, bad := range []string{"enabled", "enable>x", "enable>-1", "deprovision>=3"} {
		if _, err := ParseGates([]string{bad}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestTruncation: the real 400-user plan passes the Markdown limit; every section is cut to a
// share of it, says how many rows it left out, and the whole report stays under the limit.
func TestTruncation(t *testing.T) {
	rep := build(t, readFixture(t, filepath.Join(tfFixtures, "large-create.json")))
	for _, limit := range []int{DefaultMarkdownLimit, 20000, 5000} {
		var b bytes.Buffer
		if err := rep.WriteMarkdown(&b, MarkdownOptions{Limit: limit}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if n := utf8.RuneCountInString(out); n > limit {
			t.Errorf("limit %d: report has %d characters", limit, n)
		}
		kept := strings.Count(out, "| `user")
		if !strings.Contains(out, "**"+strconv.Itoa(400-kept)+" of 400 rows left out**") {
			t.Errorf("limit %d: %d rows kept, and no matching 'left out' line:\n%s", limit, kept, out[len(out)-400:])
		}
	}
	// Without a limit everything is there.
	var b bytes.Buffer
	if err := rep.WriteMarkdown(&b, MarkdownOptions{Limit: -1}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(b.String(), "| `user"); got != 400 {
		t.Errorf("no limit: %d rows", got)
	}

	// Several sections share the limit: a small section stays whole while a large one is cut.
	small := build(t, readFixture(t, filepath.Join(tfFixtures, "changes.json")))
	small.Sections[3].Rows = append(small.Sections[3].Rows, rep.Sections[3].Rows...)
	b.Reset()
	if err := small.WriteMarkdown(&b, MarkdownOptions{Limit: 20000}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, user := range []string{"bob", "erin", "carol", "mallory", "frank", "judy", "alice", "ken"} {
		if !strings.Contains(out, "| `"+user+"` |") {
			t.Errorf("the widening/removing/update rows must all survive; %s is missing", user)
		}
	}
	if strings.Count(out, "rows left out") != 1 {
		t.Errorf("only the new-users section should be cut:\n%s", out)
	}
}

func TestBadInput(t *testing.T) {
	plan := readFixture(t, filepath.Join(tfFixtures, "changes.json"))
	noPingID := mutatePlanJSON(t, plan, func(plan map[string]any) {
		var keep []any
		for _, rc := range list(plan["resource_changes"]) {
			if m := obj(rc); !strings.HasPrefix(str(m["type"]), "pingid_") {
				keep = append(keep, m)
			}
		}
		plan["resource_changes"] = append(keep, map[string]any{"address": "null_resource.x", "mode": "managed", "type": "null_resource", "name": "x",
			"change": map[string]any{"actions": []any{"create"}, "before": nil, "after": map[string]any{}}})
	})
	cases := []struct {
		name, input, want string
	}{
		{"empty", "  \n", "input is empty"},
		{"not JSON", "Terraform will perform the following actions:", "input is not JSON"},
		{"binary plan", "PK\x03\x04\x14\x00rest", "binary plan file"},
		{"array", "[1,2]", "not a plan"},
		{"truncated", string(plan[:len(plan)/2]), "not valid JSON"},
		{"two values", `{"format_version":"1.2","planned_values":{}} {}`, "more than one JSON value"},
		{"state", `{"format_version":"1.0","terraform_version":"1.5.7","values":{"root_module":{}}}`, "not a plan"},
		{"wrong type", `{"format_version":"1.2","resource_changes":{}}`, "not a plan"},
		{"format 2", strings.Replace(string(plan), `"format_version": "1.2"`, `"format_version": "2.0"`, 1), `format_version "2.0" is not supported`},
		{"no PingID", string(noPingID), "no pingid_provisioning_connection or pingid_mapped_user resources"},
		{"errored", `{"format_version":"1.2","planned_values":{},"errored":true}`, "errored"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Build([]byte(c.input))
			var inErr *InputError
			if !errors.As(err, &inErr) {
				t.Fatalf("want an InputError, got %v", err)
			}
			if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line containing %q", err, c.want)
			}
		})
	}
}

func mutatePlanJSON(t *testing.T, data []byte, edit func(map[string]any)) []byte {
	t.Helper()
	var plan map[string]any
	if err := json.Unmarshal(data, &plan); err != nil {
		t.Fatal(err)
	}
	edit(plan)
	out, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEscaping: usernames and values are data, never markup: a pipe cannot break the Markdown
// table, a newline cannot end the row, HTML stays text in both formats.
func TestEscaping(t *testing.T) {
	hostile := "ev|l\n<img src=x onerror=alert(1)>`x`"
	plan := mutatePlan(t, func(rc map[string]any) {
		setUser(t, after(rc), "dave", func(e map[string]any) { e["email"] = hostile })
		users := obj(after(rc)["users"])
		users[hostile] = users["dave"]
	})
	rep := build(t, plan)
	var md, page bytes.Buffer
	if err := rep.WriteMarkdown(&md, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(&page, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(md.String(), "\n") {
		if strings.Contains(line, "ev") && strings.Contains(line, "onerror") {
			if strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") != 6 {
				t.Errorf("row has the wrong number of cells: %s", line)
			}
		}
	}
	if strings.Contains(md.String(), "ev|l") || strings.Contains(page.String(), "<img") {
		t.Errorf("unescaped value in the output")
	}
}
