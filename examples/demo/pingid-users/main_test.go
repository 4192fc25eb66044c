package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

const usersJSON = `[
 {"username":"jsmith","first_name":"John","last_name":"Smith","email":"john.smith@example.com","role":"REGULAR","status":"ACTIVE","devices":[{"id":1,"type":"iPhone","nickname":"John's iPhone"},{"id":2,"type":"SMS","nickname":"SMS Number 1","phone":"+15550102030"}]},
 {"username":"lrossi","first_name":"Luca","last_name":"Rossi","role":"REGULAR","status":"SUSPENDED"}
]`

const stateJSON = `{"version":4,"resources":[
 {"mode":"data","type":"pingid_datastore_group","instances":[{"attributes":{}}]},
 {"mode":"managed","type":"pingid_provisioning_connection","instances":[{"attributes":{"users":{
   "lrossi":"{\"dn\":\"uid=lrossi,ou=people,dc=example,dc=com\",\"enabled\":false,\"source_state\":\"out_of_scope\",\"status\":\"NOT_ACTIVE\"}"
 }}}]}
]}`

func TestRun(t *testing.T) {
	emulator := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/_emulator/users" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(usersJSON))
	}))
	defer emulator.Close()
	statePath := filepath.Join(t.TempDir(), "terraform.tfstate")
	if err := os.WriteFile(statePath, []byte(stateJSON), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		args       []string
		wantErr    string // substring; "" = success
		wantOutput []string
	}{
		{
			name: "table",
			args: nil,
			wantOutput: []string{
				"USERNAME  STATUS     EMAIL                   NAME        DEVICES",
				"jsmith    ACTIVE     john.smith@example.com  John Smith  John's iPhone (iPhone); SMS Number 1 +15550102030",
				"lrossi    SUSPENDED  -                       Luca Rossi  -",
				"(2 users)",
			},
		},
		{
			name: "passing checks",
			args: []string{"-quiet", "count=2", "jsmith.status=ACTIVE", "JSMITH.devices=2", "jsmith.device:SMS Number 1=+15550102030", "jsmith.device:Email 1=absent", "lrossi.email=", "nobody=absent", "jsmith=present"},
		},
		{name: "wrong status", args: []string{"-quiet", "lrossi.status=ACTIVE"}, wantErr: `lrossi.status: want "ACTIVE", got "SUSPENDED"`},
		{name: "wrong device", args: []string{"-quiet", "jsmith.device:SMS Number 1=+15550100000"}, wantErr: `want "+15550100000", got "+15550102030"`},
		{name: "missing device", args: []string{"-quiet", "jsmith.device:Email 1=j@example.com"}, wantErr: `jsmith has no device "Email 1"`},
		{name: "wrong count", args: []string{"-quiet", "count=3"}, wantErr: "count: want 3 users, got 2"},
		{name: "absent user present", args: []string{"-quiet", "jsmith=absent"}, wantErr: "jsmith: want absent"},
		{name: "missing user field", args: []string{"-quiet", "nobody.status=ACTIVE"}, wantErr: "PingID has no such user"},
		{name: "unknown field", args: []string{"-quiet", "jsmith.phone=1"}, wantErr: `unknown field "phone"`},
		{name: "every failure is reported", args: []string{"-quiet", "count=1", "jsmith.role=ADMIN"}, wantErr: "2 of 2 checks failed"},
		{
			name: "state checks",
			args: []string{"-quiet", "-state", statePath, "state:lrossi.source_state=out_of_scope", "state:lrossi.enabled=false"},
		},
		{name: "state mismatch", args: []string{"-quiet", "-state", statePath, "state:lrossi.enabled=true"}, wantErr: `state:lrossi.enabled: want "true", got "false"`},
		{name: "state user missing", args: []string{"-quiet", "-state", statePath, "state:jsmith.enabled=true"}, wantErr: "jsmith is not in the connection's users"},
		{name: "state check needs -state", args: []string{"-quiet", "state:lrossi.enabled=false"}, wantErr: "needs -state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(append([]string{"-url", emulator.URL}, tt.args...), &stdout, &stderr)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
			for i, want := range tt.wantOutput {
				if i >= len(lines) || strings.TrimRight(lines[i], " ") != want {
					t.Fatalf("output line %d = %q, want %q\nwhole output:\n%s", i, lines[min(i, len(lines)-1)], want, stdout.String())
				}
			}
		})
	}
}

func TestRunEmulatorDown(t *testing.T) {
	emulator := httptest.NewServer(http.NotFoundHandler())
	emulator.Close()
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-url", emulator.URL}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "read users from the emulator") {
		t.Fatalf("error = %v, want a failure to read users", err)
	}
}

func TestRunSuspend(t *testing.T) {
	opts, err := emulator.GenerateOptions()
	if err != nil {
		t.Fatal(err)
	}
	emu, err := emulator.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.SeedUser(emulator.User{UserName: "jsmith", Status: emulator.StatusActive}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-url", srv.URL, "-quiet", "-suspend", "jsmith", "jsmith.status=SUSPENDED"}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v (%s)", err, stderr.String())
	}
	if u, _ := emu.User("jsmith"); u.Status != emulator.StatusSuspended {
		t.Errorf("jsmith is %s, want SUSPENDED", u.Status)
	}
	if err := run([]string{"-url", srv.URL, "-quiet", "-suspend", "nobody"}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("suspending a missing user: %v, want a 404", err)
	}
}
