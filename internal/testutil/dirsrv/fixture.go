package dirsrv

import (
	"context"
	_ "embed"
)

//go:embed testdata/fixture.ldif
var fixtureLDIF string

// FixtureLDIF is the shared 389 DS test directory (see testdata/fixture.ldif for
// the people, groups and the role-based lock it holds); it assumes the default suffix.
func FixtureLDIF() string { return fixtureLDIF }

// LoadFixture applies FixtureLDIF online.
func (s *Server) LoadFixture(ctx context.Context) error { return s.Apply(ctx, fixtureLDIF) }
