// Command pingid-users prints the users of a PingID emulator as a table and checks expected
// outcomes; scripts/demo.sh uses it so the demo needs neither curl nor jq.
//
//	pingid-users -url http://127.0.0.1:8080 [-state terraform.tfstate] [-suspend NAME] [CHECK...]
//
// -suspend NAME first suspends NAME in PingID out of band, as a PingID administrator would (for a
// lost phone); the table and the checks then see the result.
//
// A CHECK is one of
//
//	NAME.FIELD=VALUE        a PingID user's FIELD: status, email, first_name, last_name, role,
//	                        devices (a count) or device:NICKNAME (that device's phone number or
//	                        email, "" for a device without one, absent when there is none)
//	NAME=absent             NAME=present
//	count=N                 number of PingID users
//	state:NAME.FIELD=VALUE  a field (dn, email, enabled, source_state, status, ...) of NAME's
//	                        entry in the users map of the pingid_provisioning_connection in
//	                        the -state file
//
// Any failed check is reported and makes the command exit 1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// user is the part of the emulator's /_emulator/users JSON that the table shows.
type user struct {
	UserName  string   `json:"username"`
	FirstName string   `json:"first_name"`
	LastName  string   `json:"last_name"`
	Email     string   `json:"email"`
	Role      string   `json:"role"`
	Status    string   `json:"status"`
	Devices   []device `json:"devices"`
}

type device struct {
	Type     string `json:"type"`
	Nickname string `json:"nickname"`
	Phone    string `json:"phone"`
	Email    string `json:"email"`
}

// label is how the table shows a device: "SMS Number 1 +15550102030", or the nickname and type
// of an app or key, "John's iPhone (iPhone)".
func (d device) label() string {
	if v := d.Phone + d.Email; v != "" {
		return d.Nickname + " " + v
	}
	if d.Nickname == "" || d.Nickname == d.Type {
		return d.Type
	}
	return d.Nickname + " (" + d.Type + ")"
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pingid-users:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pingid-users", flag.ContinueOnError)
	fs.SetOutput(stderr)
	baseURL := fs.String("url", "", "emulator base URL (http://host:port)")
	quiet := fs.Bool("quiet", false, "check only, do not print the table")
	statePath := fs.String("state", "", "Terraform state file for state: checks")
	suspend := fs.String("suspend", "", "suspend this user in PingID out of band first")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *baseURL == "" {
		return errors.New("-url is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if *suspend != "" {
		if err := setStatus(ctx, strings.TrimSuffix(*baseURL, "/"), *suspend, "SUSPENDED"); err != nil {
			return err
		}
	}
	users, err := fetchUsers(ctx, strings.TrimSuffix(*baseURL, "/")+"/_emulator/users")
	if err != nil {
		return err
	}
	if !*quiet {
		if err := printTable(stdout, users); err != nil {
			return err
		}
	}
	var connection map[string]map[string]any
	if *statePath != "" {
		if connection, err = readConnectionUsers(*statePath); err != nil {
			return err
		}
	}
	var failed []string
	for _, c := range fs.Args() {
		msg := ""
		if stateCheck, ok := strings.CutPrefix(c, "state:"); ok {
			msg = checkState(connection, *statePath, stateCheck)
		} else {
			msg = check(users, c)
		}
		if msg != "" {
			failed = append(failed, msg)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d checks failed:\n  %s", len(failed), fs.NArg(), strings.Join(failed, "\n  "))
	}
	return nil
}

// setStatus changes a user's status through the emulator's test hook.
func setStatus(ctx context.Context, baseURL, name, status string) error {
	url := baseURL + "/_emulator/users/" + name + "/status"
	body := strings.NewReader(`{"status":` + strconv.Quote(status) + `}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("set the status of %s: %w", name, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

func fetchUsers(ctx context.Context, url string) ([]user, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read users from the emulator: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read users from the emulator: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	var users []user
	if err := json.Unmarshal(body, &users); err != nil {
		return nil, fmt.Errorf("parse users: %w", err)
	}
	return users, nil
}

func printTable(w io.Writer, users []user) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tSTATUS\tEMAIL\tNAME\tDEVICES")
	for _, u := range users {
		devices := make([]string, 0, len(u.Devices))
		for _, d := range u.Devices {
			devices = append(devices, d.label())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.UserName, u.Status, dash(u.Email),
			dash(strings.TrimSpace(u.FirstName+" "+u.LastName)), dash(strings.Join(devices, "; ")))
	}
	noun := "users"
	if len(users) == 1 {
		noun = "user"
	}
	fmt.Fprintf(tw, "(%d %s)\n", len(users), noun)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print table: %w", err)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// check evaluates one CHECK and returns a description of the failure, or "" when it holds.
func check(users []user, c string) string {
	lhs, want, ok := strings.Cut(c, "=")
	if !ok {
		return fmt.Sprintf("%q: not NAME.FIELD=VALUE, NAME=absent|present or count=N", c)
	}
	if lhs == "count" {
		if got := strconv.Itoa(len(users)); got != want {
			return fmt.Sprintf("count: want %s users, got %s", want, got)
		}
		return ""
	}
	name, field, hasField := strings.Cut(lhs, ".")
	u, found := find(users, name)
	if !hasField {
		switch {
		case want == "absent" && found:
			return fmt.Sprintf("%s: want absent, but PingID has it (status %s)", name, u.Status)
		case want == "present" && !found:
			return fmt.Sprintf("%s: want present, but PingID has no such user", name)
		case want != "absent" && want != "present":
			return fmt.Sprintf("%q: want NAME=absent or NAME=present", c)
		}
		return ""
	}
	if !found {
		return fmt.Sprintf("%s.%s: want %q, but PingID has no such user", name, field, want)
	}
	var got string
	if nickname, ok := strings.CutPrefix(field, "device:"); ok {
		for _, d := range u.Devices {
			if d.Nickname == nickname {
				if got = d.Phone + d.Email; got != want {
					return fmt.Sprintf("%s.%s: want %q, got %q", name, field, want, got)
				}
				return ""
			}
		}
		if want == "absent" {
			return ""
		}
		return fmt.Sprintf("%s.%s: want %q, but %s has no device %q", name, field, want, name, nickname)
	}
	switch field {
	case "status":
		got = u.Status
	case "email":
		got = u.Email
	case "first_name":
		got = u.FirstName
	case "last_name":
		got = u.LastName
	case "role":
		got = u.Role
	case "devices":
		got = strconv.Itoa(len(u.Devices))
	default:
		return fmt.Sprintf("%q: unknown field %q", c, field)
	}
	if got != want {
		return fmt.Sprintf("%s.%s: want %q, got %q", name, field, want, got)
	}
	return ""
}

// find matches usernames case-insensitively, as PingID does.
func find(users []user, name string) (user, bool) {
	for _, u := range users {
		if strings.EqualFold(u.UserName, name) {
			return u, true
		}
	}
	return user{}, false
}

// readConnectionUsers returns the decoded users map of the (single) provisioning connection in
// a Terraform state file.
func readConnectionUsers(path string) (map[string]map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var state struct {
		Resources []struct {
			Mode      string `json:"mode"`
			Type      string `json:"type"`
			Instances []struct {
				Attributes struct {
					Users map[string]string `json:"users"`
				} `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(data, &state); err != nil {
		return nil, fmt.Errorf("parse state %s: %w", path, err)
	}
	for _, r := range state.Resources {
		if r.Mode != "managed" || r.Type != "pingid_provisioning_connection" || len(r.Instances) != 1 {
			continue
		}
		out := make(map[string]map[string]any, len(r.Instances[0].Attributes.Users))
		for name, raw := range r.Instances[0].Attributes.Users {
			var entry map[string]any
			if err := json.Unmarshal([]byte(raw), &entry); err != nil {
				return nil, fmt.Errorf("user %q in state: %w", name, err)
			}
			out[name] = entry
		}
		return out, nil
	}
	return nil, fmt.Errorf("state %s has no single pingid_provisioning_connection", path)
}

// checkState evaluates NAME.FIELD=VALUE against the connection's users map.
func checkState(users map[string]map[string]any, statePath, c string) string {
	if users == nil {
		return fmt.Sprintf("state:%s: needs -state", c)
	}
	lhs, want, ok := strings.Cut(c, "=")
	name, field, hasField := strings.Cut(lhs, ".")
	if !ok || !hasField {
		return fmt.Sprintf("state:%s: not state:NAME.FIELD=VALUE", c)
	}
	entry, found := users[name]
	if !found {
		return fmt.Sprintf("state:%s: %s is not in the connection's users (%s)", c, name, statePath)
	}
	got, found := entry[field]
	if !found {
		return fmt.Sprintf("state:%s: %s's entry has no field %q", c, name, field)
	}
	if s := fmt.Sprint(got); s != want {
		return fmt.Sprintf("state:%s.%s: want %q, got %q", name, field, want, s)
	}
	return ""
}
