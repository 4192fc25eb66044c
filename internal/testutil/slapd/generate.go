package slapd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// UserDN is the DN of the i-th generated user: uid=<prefix><i, 5 digits>,ou=people,<suffix>.
func UserDN(suffix, prefix string, i int) string {
	return fmt.Sprintf("uid=%s,ou=people,%s", UserName(prefix, i), suffix)
}

// UserName is the uid of the i-th generated user.
func UserName(prefix string, i int) string {
	return fmt.Sprintf("%s%05d", prefix, i)
}

// WriteUsersLDIF writes n inetOrgPerson users (uid, cn, sn, givenName, mail)
// under ou=people,<suffix>, suitable for Options.BulkLDIF.
func WriteUsersLDIF(w io.Writer, suffix, prefix string, n int) error {
	bw := bufio.NewWriter(w)
	for i := 0; i < n; i++ {
		name := UserName(prefix, i)
		fmt.Fprintf(bw, "dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: User %s\nsn: %s\ngivenName: User\nmail: %s@example.com\n\n",
			UserDN(suffix, prefix, i), name, name, name, name)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write users ldif: %w", err)
	}
	return nil
}

// WriteUsersFile writes WriteUsersLDIF output to path (for Options.BulkLDIF).
func WriteUsersFile(path, suffix, prefix string, n int) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("users ldif dir: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create users ldif: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close users ldif: %w", cerr)
		}
	}()
	return WriteUsersLDIF(f, suffix, prefix, n)
}

// GroupLDIF renders an add record for a groupOfNames with the given members.
func GroupLDIF(groupDN string, memberDNs []string) string {
	var b strings.Builder
	rdn, _, _ := strings.Cut(groupDN, ",")
	_, cn, _ := strings.Cut(rdn, "=")
	fmt.Fprintf(&b, "dn: %s\nobjectClass: groupOfNames\ncn: %s\n", groupDN, cn)
	for _, m := range memberDNs {
		fmt.Fprintf(&b, "member: %s\n", m)
	}
	return b.String()
}

// AddGeneratedGroup adds (online, so memberOf is maintained) the group
// cn=<cn>,ou=groups,<suffix> whose members are generated users 0..n-1.
func (s *Server) AddGeneratedGroup(ctx context.Context, cn, prefix string, n int) (string, error) {
	groupDN := fmt.Sprintf("cn=%s,ou=groups,%s", cn, s.Suffix)
	members := make([]string, n)
	for i := range members {
		members[i] = UserDN(s.Suffix, prefix, i)
	}
	if err := s.Apply(ctx, GroupLDIF(groupDN, members)); err != nil {
		return "", err
	}
	return groupDN, nil
}
