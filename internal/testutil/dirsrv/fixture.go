package dirsrv

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

//go:embed testdata/fixture.ldif
var fixtureLDIF string

// FixtureLDIF is the shared 389 DS test directory (see testdata/fixture.ldif for
// the people, groups and the role-based lock it holds); it assumes the default suffix.
func FixtureLDIF() string { return fixtureLDIF }

// LoadFixture applies FixtureLDIF online and waits until the role-based lock is in force.
func (s *Server) LoadFixture(ctx context.Context) error {
	if err := s.Apply(ctx, fixtureLDIF); err != nil {
		return err
	}
	return s.waitForRoleLock(ctx, "uid=gina,ou=people,"+s.Suffix, 30*time.Second)
}

// waitForRoleLock polls until dn's virtual nsAccountLock reads true. 389 DS applies changes to
// role and CoS definitions to its caches in background threads, so a role-locked entry can
// read unlocked for a moment after the fixture loads. Once, on a loaded machine, a test
// provisioned the role-locked user enabled. This is the fixture's only asynchrony, but it was not
// reproduced (0 of 15 fresh loads under 3 busy CPUs read unlocked), so this is a guard, not a
// proven fix.
func (s *Server) waitForRoleLock(ctx context.Context, dn string, limit time.Duration) error {
	conn, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline := time.Now().Add(limit)
	for {
		res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{"nsAccountLock"}, nil))
		if err != nil {
			return fmt.Errorf("read nsAccountLock of %s: %w", dn, err)
		}
		if len(res.Entries) == 1 && strings.EqualFold(res.Entries[0].GetAttributeValue("nsAccountLock"), "true") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: the role-based lock (CoS nsAccountLock) was not in force %s after the fixture loaded", dn, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
