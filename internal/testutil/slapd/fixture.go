package slapd

import (
	"context"
	_ "embed"
)

//go:embed testdata/fixture.ldif
var fixtureLDIF string

// FixtureLDIF is the shared test directory (see testdata/fixture.ldif for the
// people and groups it holds); it assumes the default suffix.
func FixtureLDIF() string { return fixtureLDIF }

// LoadFixture applies FixtureLDIF online.
func (s *Server) LoadFixture(ctx context.Context) error { return s.Apply(ctx, fixtureLDIF) }
