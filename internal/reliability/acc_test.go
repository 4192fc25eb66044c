package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

const connAddr = "pingid_provisioning_connection.corp"

// stateUsers returns the usernames in the connection's users map in a plugin-testing state.
func stateUsers(s *terraform.State) (map[string]bool, error) {
	rs, ok := s.RootModule().Resources[connAddr]
	if !ok {
		return nil, fmt.Errorf("%s not in state", connAddr)
	}
	out := map[string]bool{}
	for k := range rs.Primary.Attributes {
		if name, ok := strings.CutPrefix(k, "users."); ok && name != "%" {
			out[name] = true
		}
	}
	return out, nil
}

// stateWithinPingID checks that every user in state exists in PingID and that PingID holds
// only directory users (plus the named extras): what was recorded was done, nothing invented.
func (w *world) stateWithinPingID(t *testing.T, extras ...string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		users, err := stateUsers(s)
		if err != nil {
			return err
		}
		for name := range users {
			if _, ok := w.emu.User(name); !ok {
				return fmt.Errorf("%s is in state but not in PingID", name)
			}
		}
		dir := w.groupMembers(t)
		skip := map[string]bool{}
		for _, e := range extras {
			skip[strings.ToLower(e)] = true
		}
		for _, u := range w.emu.Users() {
			key := strings.ToLower(u.UserName)
			if _, ok := dir[key]; !ok && !skip[key] {
				return fmt.Errorf("%s is in PingID but not in the directory group", u.UserName)
			}
		}
		return nil
	}
}

// changedUsers lists the users whose planned value differs from the prior one.
func changedUsers(before, after map[string]any) []string {
	var out []string
	for name, v := range after {
		if before[name] != v {
			out = append(out, name)
		}
	}
	for name := range before {
		if _, ok := after[name]; !ok {
			out = append(out, name)
		}
	}
	return out
}

// traceLogs makes the in-process provider (and Terraform) write TRACE logs, one file per test,
// and returns a function that fails the test if any of them contains a secret. The check is
// not vacuous: it requires the PingID call log lines to be there.
func traceLogs(t *testing.T) func(secrets []string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_LOG_PATH_MASK", filepath.Join(dir, "%s.log"))
	return func(secrets []string) {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
		var total int
		sawCalls := false
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			total += len(data)
			text := string(data)
			if strings.Contains(text, "PingID API call") {
				sawCalls = true
			}
			for _, s := range secrets {
				if i := strings.Index(text, s); len(s) >= 6 && i >= 0 {
					context := strings.ReplaceAll(text[max(0, i-160):min(len(text), i+len(s)+40)], s, "[SECRET]")
					t.Errorf("%s contains a secret (%d characters), %d times; first: …%s…", filepath.Base(f), len(s), strings.Count(text, s), context)
				}
			}
		}
		if !sawCalls {
			t.Errorf("TRACE logs (%d files, %d bytes) have no PingID API call lines: the secret scan would prove nothing", len(files), total)
		}
	}
}
