package reliability

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

// dirWorld is a directory scenario's world: the directory, possibly behind a proxy.
type dirWorld struct {
	*world
	proxy *tcpProxy
}

// faultStep is one failing apply: inject breaks something, the configuration may change, and
// Terraform must fail with fails before any PingID user is touched.
type faultStep struct {
	name      string
	inject    func(t *testing.T, w *dirWorld)
	datastore func(w *dirWorld) map[string]any // nil: the baseline datastore block
	conn      map[string]any                   // connection overrides on top of the baseline's
	fails     string
}

type directoryFault struct {
	name    string
	slapd   slapd.Options
	members int
	proxied bool                             // the provider reaches slapd through a proxy
	datasto func(w *dirWorld) map[string]any // baseline datastore block (default: reader, plain ldap)
	conn    map[string]any                   // baseline connection overrides
	// setup prepares the directory before the baseline apply.
	setup  func(t *testing.T, w *dirWorld)
	faults []faultStep
	// recover undoes the fault; the next apply must then converge. nil: no recovery step.
	recover func(t *testing.T, w *dirWorld)
	// matches checks PingID after the baseline and the recovery applies (default: the group's
	// members are provisioned as in the directory, users who left it are suspended).
	matches func(t *testing.T, w *dirWorld)
}

func plainDatastore(w *dirWorld) map[string]any {
	url := w.ldap.URL
	if w.proxy != nil {
		url = w.proxy.url()
	}
	return map[string]any{
		"url": url, "bind_dn": w.ldap.ReaderDN, "bind_password": w.ldap.ReaderPassword,
		"directory_type": "openldap", "allow_insecure_bind": true,
	}
}

// with returns a copy of m with key/value pairs set (a nil value removes the key).
func with(m map[string]any, kv ...any) map[string]any {
	out := maps.Clone(m)
	for i := 0; i+1 < len(kv); i += 2 {
		key := fmt.Sprint(kv[i])
		if kv[i+1] == nil {
			delete(out, key)
			continue
		}
		out[key] = kv[i+1]
	}
	return out
}

func ldapsLocalhost(w *dirWorld) string { return fmt.Sprintf("ldaps://localhost:%d", w.ldap.TLSPort) }

// TestDirectoryFaults: an unreadable, unreachable, untrusted, limited or misconfigured
// directory fails the plan with an error that says why, and no PingID user is changed; a
// plan that would deprovision more users than max_deprovisions fails listing them. After the
// fault is repaired, the next apply converges.
func TestDirectoryFaults(t *testing.T) {
	requireTerraform(t)
	tlsDatastore := func(w *dirWorld) map[string]any {
		return map[string]any{
			"url": ldapsLocalhost(w), "bind_dn": w.ldap.ReaderDN, "bind_password": w.ldap.ReaderPassword,
			"directory_type": "openldap", "ca_certificate": string(w.ldap.CACertPEM),
		}
	}
	scenarios := []directoryFault{
		{name: "slapd stopped before a plan", faults: []faultStep{{
			inject: func(t *testing.T, w *dirWorld) {
				if err := w.ldap.Stop(); err != nil {
					t.Fatal(err)
				}
			},
			fails: `(?s)Unable to read the source location.*ldap dial.*connection refused`,
		}}},
		{name: "slapd dies in the middle of a read", proxied: true, faults: []faultStep{{
			inject: func(t *testing.T, w *dirWorld) { w.proxy.misbehave(1500, 0) },
			fails:  `(?s)Unable to read the source location.*ldap search.*(connection closed|unexpected EOF)`,
		}}, recover: func(t *testing.T, w *dirWorld) { w.proxy.misbehave(0, 0) }},
		{name: "slapd slower than the timeout", proxied: true,
			datasto: func(w *dirWorld) map[string]any { return with(plainDatastore(w), "timeout", "1s") },
			faults: []faultStep{{
				inject: func(t *testing.T, w *dirWorld) { w.proxy.misbehave(0, 1500*time.Millisecond) },
				fails:  `(?s)Unable to read the source location.*ldap.*(deadline exceeded|timeout|timed out)`,
			}}, recover: func(t *testing.T, w *dirWorld) { w.proxy.misbehave(0, 0) }},
		{name: "bind failure", faults: []faultStep{{
			datastore: func(w *dirWorld) map[string]any { return with(plainDatastore(w), "bind_password", "wrong-password") },
			fails:     `(?s)Unable to read the source location.*ldap bind.*Invalid Credentials`,
		}}, recover: func(*testing.T, *dirWorld) {}},
		{name: "TLS", slapd: slapd.Options{TLS: true, TLSHosts: []string{"localhost"}}, datasto: tlsDatastore, faults: []faultStep{
			{name: "certificate for another host",
				datastore: func(w *dirWorld) map[string]any { return with(tlsDatastore(w), "url", w.ldap.LDAPSURL) },
				fails:     `(?s)Unable to read the source location.*ldap tls.*x509:.*certificate\s+for\s+127\.0\.0\.1`},
			{name: "ldaps verifies by default",
				datastore: func(w *dirWorld) map[string]any { return with(tlsDatastore(w), "ca_certificate", nil) },
				fails:     `(?s)Unable to read the source location.*certificate signed by unknown authority`},
			{name: "StartTLS verifies by default",
				datastore: func(w *dirWorld) map[string]any {
					return with(tlsDatastore(w), "ca_certificate", nil, "start_tls", true, "url", fmt.Sprintf("ldap://localhost:%d", w.ldap.Port))
				},
				fails: `(?s)Unable to read the source location.*certificate signed by unknown authority`},
		}, recover: func(*testing.T, *dirWorld) {}},
		// Pages above size.pr are retried smaller down to datastore.PageSizeFloor (10); a
		// server that allows fewer still fails the read, naming the setting.
		{name: "size limit: page larger than the server allows", slapd: slapd.Options{SizeLimit: 5},
			datasto: func(w *dirWorld) map[string]any { return with(plainDatastore(w), "page_size", 5) },
			faults: []faultStep{{
				datastore: func(w *dirWorld) map[string]any { return with(plainDatastore(w), "page_size", 500) },
				fails:     `(?s)Unable to read the source location.*ldap search.*pages of 500 down to 10.*Admin Limit Exceeded.*datastore\.page_size`,
			}}, recover: func(*testing.T, *dirWorld) {}},
		{name: "size limit: the filter's result outgrows the paged total", slapd: slapd.Options{SizeLimit: 10, PagedTotalLimit: 15},
			datasto: func(w *dirWorld) map[string]any { return with(plainDatastore(w), "page_size", 5) },
			conn:    map[string]any{"source_location": map[string]any{"base_dn": peopleDN, "filter": "(employeeType=staff)"}},
			setup:   func(t *testing.T, w *dirWorld) { w.setEmployeeType(t, "replace", 0, 12) },
			faults: []faultStep{{
				inject: func(t *testing.T, w *dirWorld) { w.setEmployeeType(t, "replace", 12, 30) },
				fails:  `(?s)Unable to read the source location.*ldap search.*Size Limit Exceeded`,
			}},
			recover: func(t *testing.T, w *dirWorld) { w.setEmployeeType(t, "delete", 12, 30) },
			matches: func(t *testing.T, w *dirWorld) {
				for i := range 12 {
					u, ok := w.emu.User(dirUser(i))
					if !ok || (u.Status == emulator.StatusSuspended) != (i == 9) {
						t.Errorf("%s: in PingID %v, status %s", dirUser(i), ok, u.Status)
					}
				}
				if n := len(w.emu.Users()); n != 12 {
					t.Errorf("PingID holds %d users, want the 12 staff", n)
				}
			}},
		{name: "referral in the searched subtree",
			conn: map[string]any{"source_location": map[string]any{"base_dn": peopleDN, "filter": "(&(objectClass=inetOrgPerson)(uid=u*))"}},
			faults: []faultStep{{
				inject: func(t *testing.T, w *dirWorld) {
					w.apply(t, "dn: ou=partners,"+peopleDN+"\nobjectClass: referral\nobjectClass: extensibleObject\nou: partners\nref: ldap://partners.example.invalid/ou=partners,"+peopleDN+"\n")
				},
				fails: `(?s)Unable to read the source location.*referral.*partners\.example\.invalid`,
			}}, recover: func(t *testing.T, w *dirWorld) { w.deleteReferral(t, "ou=partners,"+peopleDN) },
			matches: func(t *testing.T, w *dirWorld) {
				suspended := 0
				for _, u := range w.emu.Users() {
					if u.Status == emulator.StatusSuspended {
						suspended++
					}
				}
				if n := len(w.emu.Users()); n != 40 || suspended != 4 {
					t.Errorf("PingID holds %d users (%d suspended), want all 40 directory users, the 4 disabled ones suspended", n, suspended)
				}
			}},
		{name: "base DN", conn: map[string]any{"max_deprovisions": nil}, faults: []faultStep{
			{name: "that does not exist",
				conn:  map[string]any{"source_location": map[string]any{"base_dn": "ou=nowhere," + suffix, "group_dn": groupDN}},
				fails: `(?s)Unable to read the source location.*base_dn.*ou=nowhere,dc=example,dc=com.*no such entry`},
			{name: "that exists but holds none of the users",
				conn:  map[string]any{"source_location": map[string]any{"base_dn": groupsDN, "group_dn": groupDN}},
				fails: `(?s)Too many users would be deprovisioned.*\d+ users would be deprovisioned.*more than\s+max_deprovisions = 10.*u00000`},
		}, recover: func(*testing.T, *dirWorld) {}},
		{name: "max_deprovisions: members leave", conn: map[string]any{"max_deprovisions": nil}, faults: []faultStep{{
			inject: func(t *testing.T, w *dirWorld) { w.changeMembers(t, "delete", 0, 12) },
			fails:  `(?s)Too many users would be deprovisioned.*1[01] users would be deprovisioned.*more than\s+max_deprovisions = 10:.*u00000.*u00001.*u00011`,
		}}, recover: func(t *testing.T, w *dirWorld) {}},
		{name: "max_deprovisions: accounts disabled", conn: map[string]any{"max_deprovisions": 5}, faults: []faultStep{{
			inject: func(t *testing.T, w *dirWorld) {
				var b strings.Builder
				for i := 10; i < 16; i++ {
					fmt.Fprintf(&b, "dn: %s\nchangetype: modify\nreplace: pwdAccountLockedTime\npwdAccountLockedTime: %s\n-\n\n", userDN(i), lockedTime)
				}
				w.apply(t, b.String())
			},
			fails: `(?s)Too many users would be deprovisioned.*6 users would be deprovisioned.*u00010.*u00015`,
		}}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { runDirectoryFault(t, sc) })
	}
}

func runDirectoryFault(t *testing.T, sc directoryFault) {
	members := sc.members
	if members == 0 {
		members = 25
	}
	w := &dirWorld{world: newWorld(t, worldOptions{slapd: sc.slapd, dir: directory{users: 40, members: members, disabledEvery: 10}})}
	if sc.proxied {
		w.proxy = startProxy(t, strings.TrimPrefix(w.ldap.URL, "ldap://"))
	}
	baselineDS := plainDatastore
	if sc.datasto != nil {
		baselineDS = sc.datasto
	}
	scanner := newSecretScanner(t, w.secrets...)
	baseConn := connection(sc.conn)
	render := func(ds map[string]any, conn map[string]any) string {
		return terraformConfig(map[string]any{"properties_file": w.propertiesFile, "datastore": ds}, conn)
	}

	var before []emulator.User
	var mutating int64
	snapshot := func() {
		if before == nil {
			before, mutating = w.emu.Users(), w.mutatingCalls()
		}
	}
	unchanged := func() {
		t.Helper()
		if after := w.emu.Users(); !reflect.DeepEqual(before, after) || w.mutatingCalls() != mutating {
			t.Errorf("a failed plan changed PingID: %d mutating calls (before: %d), users equal: %v",
				w.mutatingCalls(), mutating, reflect.DeepEqual(before, after))
		}
	}

	matches := func(t *testing.T, w *dirWorld) { w.pingIDMatchesDirectoryOrSuspended(t) }
	if sc.matches != nil {
		matches = sc.matches
	}
	steps := []resource.TestStep{{
		PreConfig: func() {
			if sc.setup != nil {
				sc.setup(t, w)
			}
		},
		Config: render(baselineDS(w), baseConn),
		Check: func(*terraform.State) error {
			matches(t, w)
			return nil
		},
	}}
	for _, f := range sc.faults {
		ds := baselineDS
		if f.datastore != nil {
			ds = f.datastore
		}
		conn := baseConn
		if f.conn != nil {
			conn = connection(mergeNested(sc.conn, f.conn))
		}
		steps = append(steps, resource.TestStep{
			PreConfig: func() {
				snapshot()
				if f.inject != nil {
					f.inject(t, w)
				}
			},
			// A config function: the datastore block may depend on the world (TLS ports).
			Config:      render(ds(w), conn),
			ExpectError: regexp.MustCompile(f.fails),
		})
	}
	if sc.recover != nil {
		steps = append(steps, resource.TestStep{
			PreConfig: func() {
				unchanged()
				sc.recover(t, w)
			},
			Config: render(baselineDS(w), connection(mergeNested(sc.conn, map[string]any{"max_deprovisions": -1}))),
			Check: func(*terraform.State) error {
				matches(t, w)
				return nil
			},
		})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: scannedFactories(scanner), Steps: steps})
	if sc.recover == nil {
		unchanged()
	}
}

// mergeNested merges connection overrides one level deep (source_location, attribute_mapping).
func mergeNested(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range over {
		if nested, ok := v.(map[string]any); ok {
			if b, ok := out[k].(map[string]any); ok {
				merged := maps.Clone(b)
				maps.Copy(merged, nested)
				out[k] = merged
				continue
			}
		}
		out[k] = v
	}
	return out
}

// apply runs LDIF changes against the directory.
func (w *dirWorld) apply(t *testing.T, ldif string) {
	t.Helper()
	if err := w.ldap.Apply(context.Background(), ldif); err != nil {
		t.Fatalf("directory change: %v", err)
	}
}

// deleteReferral removes a referral object, which takes the ManageDsaIT control.
func (w *dirWorld) deleteReferral(t *testing.T, dn string) {
	t.Helper()
	conn, err := w.ldap.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Del(&ldap.DelRequest{DN: dn, Controls: []ldap.Control{ldap.NewControlManageDsaIT(true)}}); err != nil {
		t.Fatalf("delete referral %s: %v", dn, err)
	}
}

// setEmployeeType sets (op "replace") or removes (op "delete") employeeType: staff on
// generated users [from, to).
func (w *dirWorld) setEmployeeType(t *testing.T, op string, from, to int) {
	t.Helper()
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "dn: %s\nchangetype: modify\n%s: employeeType\n", userDN(i), op)
		if op != "delete" {
			b.WriteString("employeeType: staff\n")
		}
		b.WriteString("-\n\n")
	}
	w.apply(t, b.String())
}

// changeMembers adds or deletes generated users [from, to) as group members.
func (w *dirWorld) changeMembers(t *testing.T, op string, from, to int) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nchangetype: modify\n%s: member\n", groupDN, op)
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "member: %s\n", userDN(i))
	}
	b.WriteString("-\n")
	w.apply(t, b.String())
}

// pingIDMatchesDirectoryOrSuspended: group members match as in pingIDMatchesDirectory, and
// every other PingID user (one who left the group) is suspended, never deleted or active.
func (w *world) pingIDMatchesDirectoryOrSuspended(t *testing.T, ignore ...string) {
	t.Helper()
	members := w.groupMembers(t)
	leavers := ignore
	for _, u := range w.emu.Users() {
		if _, ok := members[strings.ToLower(u.UserName)]; ok || slices.Contains(ignore, u.UserName) {
			continue
		}
		leavers = append(leavers, u.UserName)
		if u.Status != emulator.StatusSuspended {
			t.Errorf("%s left the group but is %s in PingID, want SUSPENDED", u.UserName, u.Status)
		}
	}
	w.pingIDMatchesDirectory(t, leavers...)
}
