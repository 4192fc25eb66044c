package source_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/datastore"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/source"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

const (
	baseDN  = "ou=people,dc=example,dc=com"
	groupDN = "cn=staff,ou=groups,dc=example,dc=com"
)

// directoryLDIF: jsmith and adoe are in the group (adoe disabled), leaver is in the directory
// but not in the group.
const directoryLDIF = `dn: uid=jsmith,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: jsmith
cn: John Smith
givenName: John
sn: Smith
mail: john.smith@example.com

dn: uid=adoe,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: adoe
cn: Ann Doe
sn: Doe
mail: ann.doe@example.com
pwdAccountLockedTime: 000001010000Z

dn: uid=leaver,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: leaver
cn: Lee Leaver
sn: Leaver

dn: cn=staff,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: staff
member: uid=jsmith,ou=people,dc=example,dc=com
member: uid=adoe,ou=people,dc=example,dc=com
`

type world struct {
	gatherer source.Gatherer
	emu      *emulator.Server
	ldap     *slapd.Server
}

// newWorld starts slapd with directoryLDIF and a PingID emulator, and returns a Gatherer
// binding as the directory's ordinary reader account.
func newWorld(t *testing.T) world {
	t.Helper()
	ldapServer := slapd.StartT(t, slapd.Options{})
	if err := ldapServer.Apply(context.Background(), directoryLDIF); err != nil {
		t.Fatalf("load directory: %v", err)
	}
	opts, err := emulator.GenerateOptions()
	if err != nil {
		t.Fatal(err)
	}
	emu, err := emulator.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	creds, err := pingid.ParseProperties(emu.PropertiesFile(srv.URL + "/pingid"))
	if err != nil {
		t.Fatal(err)
	}
	client, err := pingid.NewClient(pingid.Config{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	return world{emu: emu, ldap: ldapServer, gatherer: source.Gatherer{
		Datastore: datastore.Config{
			URL: ldapServer.URL, BindDN: ldapServer.ReaderDN, BindPassword: ldapServer.ReaderPassword,
			DirectoryType: datastore.DirectoryOpenLDAP, AllowInsecureBind: true,
		},
		PingID:      client,
		Concurrency: 4,
	}}
}

func (w world) seed(t *testing.T, users ...emulator.User) {
	t.Helper()
	for _, u := range users {
		if err := w.emu.SeedUser(u); err != nil {
			t.Fatal(err)
		}
	}
}

func spec() source.Spec {
	s := source.Spec{
		Query:        datastore.Query{BaseDN: baseDN, GroupDN: groupDN, UsernameAttribute: "uid"},
		UsernameAttr: "uid", EmailAttr: "mail", LastNameAttr: "sn",
	}
	s.Query.Attributes = s.MappedAttributes()
	return s
}

func TestReadBuildsTheSnapshot(t *testing.T) {
	w := newWorld(t)
	// jsmith is in scope and already in PingID (to be linked); leaver is managed but left the
	// group; gone is managed and no longer in the directory.
	w.seed(t, emulator.User{UserName: "JSmith", Email: "old@example.com", Role: pingid.RoleRegular, Status: "ACTIVE"})
	prior := map[string]reconcile.Entry{
		"leaver": {DN: "uid=leaver," + baseDN, Enabled: true, SourceState: reconcile.SourceInScope},
		"gone":   {DN: "uid=gone," + baseDN, Enabled: true, SourceState: reconcile.SourceInScope},
	}
	admins := map[string]bool{"leaver": true}
	s := spec()
	snap, err := w.gatherer.Read(context.Background(), s, prior, admins)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if snap.Fingerprint != s.Fingerprint() {
		t.Errorf("fingerprint %q, want the spec's %q", snap.Fingerprint, s.Fingerprint())
	}
	in := map[string]reconcile.DirectoryUser{}
	for _, d := range snap.InScope {
		in[d.Username] = d
	}
	if len(in) != 2 {
		t.Fatalf("in scope %v, want jsmith and adoe", snap.InScope)
	}
	if j := in["jsmith"]; !j.Enabled || j.Email == nil || *j.Email != "john.smith@example.com" || j.LastName == nil || *j.LastName != "Smith" || j.FirstName != nil {
		t.Errorf("jsmith = %+v: want enabled, mapped mail and sn, unmapped first name nil", j)
	}
	if a := in["adoe"]; a.Enabled {
		t.Errorf("adoe is locked in the directory, got enabled")
	}
	if _, ok := snap.OutOfScope["leaver"]; !ok || len(snap.OutOfScope) != 1 {
		t.Errorf("out of scope %v, want only leaver (gone is absent from the directory)", snap.OutOfScope)
	}
	if e, ok := snap.Existing["jsmith"]; !ok || e.Username != "JSmith" || e.Email != "old@example.com" || len(snap.Existing) != 1 {
		t.Errorf("existing %v, want JSmith as PingID has it", snap.Existing)
	}
	if !snap.Admins["leaver"] || len(snap.Admins) != 1 {
		t.Errorf("admins %v, want the ones passed in", snap.Admins)
	}
}

func TestReadRejectsUsernamesPingIDCannotHold(t *testing.T) {
	w := newWorld(t)
	long := strings.Repeat("x", pingid.MaxUsernameLength+1)
	if err := w.ldap.Apply(context.Background(), "dn: uid=longname,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: longname\ncn: Long\nsn: Name\ndescription: "+long+"\n\n"+
		"dn: uid=okname,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: okname\ncn: Ok\nsn: Name\ndescription: okname\n"); err != nil {
		t.Fatal(err)
	}
	s := spec()
	s.Query.GroupDN, s.Query.Filter = "", "(description=*)"
	s.Query.UsernameAttribute, s.UsernameAttr = "description", "description"
	_, err := w.gatherer.Read(context.Background(), s, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "1 directory entries have usernames PingID cannot hold") || !strings.Contains(err.Error(), "uid=longname") {
		t.Fatalf("Read = %v, want an error naming uid=longname only", err)
	}
}

func TestReadFailsOnAnUnreadableSource(t *testing.T) {
	w := newWorld(t)
	s := spec()
	s.Query.GroupDN = "cn=missing,ou=groups,dc=example,dc=com"
	if _, err := w.gatherer.Read(context.Background(), s, nil, nil); !errors.Is(err, datastore.ErrNoSuchEntry) {
		t.Fatalf("Read = %v, want datastore.ErrNoSuchEntry: a missing group must never read as an empty scope", err)
	}
}

func TestRefreshRecordsDriftGoneUsersAndAdmins(t *testing.T) {
	w := newWorld(t)
	w.seed(t,
		emulator.User{UserName: "jsmith", Email: "new@example.com", Role: pingid.RoleRegular, Status: "SUSPENDED"},
		emulator.User{UserName: "Root", Email: "root@example.com", Role: pingid.RoleAdmin, Status: "ACTIVE"},
	)
	prior := map[string]reconcile.Entry{
		"jsmith": {Email: "old@example.com", Enabled: true, Status: "ACTIVE", SourceState: reconcile.SourceInScope},
		"Root":   {Email: "root@example.com", Enabled: true, Status: "ACTIVE", SourceState: reconcile.SourceInScope},
		"zgone":  {Enabled: true, Status: "ACTIVE", SourceState: reconcile.SourceInScope},
		"agone":  {Enabled: true, Status: "ACTIVE", SourceState: reconcile.SourceInScope},
	}
	got, err := w.gatherer.Refresh(context.Background(), prior)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if want := reconcile.Refreshed(prior["jsmith"], reconcile.PingIDUser{Username: "jsmith", Email: "new@example.com", Status: "SUSPENDED", Role: pingid.RoleRegular}); got.Users["jsmith"] != want {
		t.Errorf("jsmith refreshed to %+v, want %+v", got.Users["jsmith"], want)
	}
	if len(got.Users) != 2 {
		t.Errorf("users %v, want jsmith and Root", got.Users)
	}
	if strings.Join(got.Gone, ",") != "agone,zgone" {
		t.Errorf("gone %v, want [agone zgone]", got.Gone)
	}
	if !got.Admins[reconcile.FoldUsername("Root")] || len(got.Admins) != 1 {
		t.Errorf("admins %v, want root", got.Admins)
	}
}

// fakeClient answers GetUser from a map and fails for the names in fail.
type fakeClient struct {
	mu    sync.Mutex
	users map[string]*pingid.User
	fail  map[string]error
	calls int
}

func (f *fakeClient) GetUser(_ context.Context, name string) (*pingid.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if err := f.fail[name]; err != nil {
		return nil, err
	}
	if u, ok := f.users[name]; ok {
		return u, nil
	}
	return nil, pingid.ErrUserNotFound
}

func TestRefreshFailsWholeOnAnyLookupError(t *testing.T) {
	boom := errors.New("connection reset")
	f := &fakeClient{users: map[string]*pingid.User{}, fail: map[string]error{"u3": boom}}
	prior := map[string]reconcile.Entry{}
	for _, n := range []string{"u1", "u2", "u3", "u4"} {
		f.users[n] = &pingid.User{UserName: n, Status: "ACTIVE", Role: pingid.RoleRegular}
		prior[n] = reconcile.Entry{Enabled: true, Status: "ACTIVE"}
	}
	got, err := source.Gatherer{PingID: f, Concurrency: 2}.Refresh(context.Background(), prior)
	if !errors.Is(err, boom) || got != nil {
		t.Fatalf("Refresh = %v, %v; want no result and %v: a partial read must never look like users leaving", got, err, boom)
	}
}

func TestRefreshLooksEveryManagedUserUpOnce(t *testing.T) {
	f := &fakeClient{users: map[string]*pingid.User{}}
	prior := map[string]reconcile.Entry{}
	for i := range 50 {
		n := slapd.UserName("user", i)
		f.users[n] = &pingid.User{UserName: n, Status: "ACTIVE", Role: pingid.RoleRegular}
		prior[n] = reconcile.Entry{Enabled: true, Status: "ACTIVE"}
	}
	got, err := source.Gatherer{PingID: f, Concurrency: 8}.Refresh(context.Background(), prior)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Users) != 50 || len(got.Gone) != 0 || f.calls != 50 {
		t.Fatalf("%d users, %d gone, %d calls; want 50, 0, 50", len(got.Users), len(got.Gone), f.calls)
	}
}

// TestReadTellsDirectoryFromPingIDFailures: the provider says which service to check, so Read's
// errors say which one failed, whatever the cause's own type.
func TestReadTellsDirectoryFromPingIDFailures(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()

	wrongToken := w.gatherer
	wrongToken.PingID = &fakeClient{fail: map[string]error{
		"jsmith": &pingid.APIError{Operation: "getuserdetails", Username: "jsmith", HTTPStatus: 400, ErrorID: 400, Message: "Invalid input.", Unsigned: true},
	}}
	_, err := wrongToken.Read(ctx, spec(), nil, nil)
	var pe *source.PingIDError
	var de *source.DirectoryError
	if !errors.As(err, &pe) || errors.As(err, &de) || pe.Work != "plan-time look-ups" || !errors.Is(err, pingid.ErrInvalidInput) {
		t.Fatalf("Read with PingID refusing the credentials = %#v, want a PingIDError (plan-time look-ups) wrapping the APIError", err)
	}

	wrongPassword := w.gatherer
	wrongPassword.Datastore.BindPassword = "wrong"
	_, err = wrongPassword.Read(ctx, spec(), nil, nil)
	var le *datastore.Error
	if !errors.As(err, &de) || errors.As(err, &pe) || !errors.As(err, &le) || le.Op != datastore.OpBind {
		t.Fatalf("Read with a wrong bind password = %#v, want a DirectoryError wrapping the bind error", err)
	}

	_, err = (source.Gatherer{PingID: wrongToken.PingID, Concurrency: 1}).Refresh(ctx, map[string]reconcile.Entry{"jsmith": {}})
	if !errors.As(err, &pe) || pe.Work != "refresh" {
		t.Fatalf("Refresh = %#v, want a PingIDError (refresh)", err)
	}
}
