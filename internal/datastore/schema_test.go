package datastore

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

func TestParseSchema(t *testing.T) {
	s, err := ParseSchema([]string{
		"( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'RFC4519: common name(s) for which the entity is known by' SUP name )",
		"( 0.9.2342.19200300.100.1.3 NAME ( 'mail' 'rfc822Mailbox' ) DESC 'RFC1274: RFC822 Mailbox' EQUALITY caseIgnoreIA5Match )",
		"( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' SYNTAX '1.3.6.1.4.1.1466.115.121.1.15' SINGLE-VALUE )",
		"( 2.5.4.42 NAME 'givenName' DESC 'a NAME in DESC' SUP name )",
		"( 2.5.4.4 NAME ( 'sn' 'surname' ) SUP name )",
		"( 1.3.6.1.4.1.32473.9 DESC 'no NAME at all' )",
		"garbage",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cn", "CommonName", "2.5.4.3", "MAIL", "rfc822mailbox", "samaccountname", "givenName",
		"cn;lang-en", "1.3.6.1.4.1.32473.9"} {
		if !s.Defines(name) {
			t.Errorf("Defines(%q) = false", name)
		}
	}
	for _, name := range []string{"mial", "DESC", "a", "name", "garbage", ""} {
		if s.Defines(name) {
			t.Errorf("Defines(%q) = true", name)
		}
	}
	for attr, want := range map[string]string{
		"mial":           "mail", // a transposition is one edit
		"mai":            "mail",
		"emial":          "mail", // two edits: allowed from five characters on
		"sAMAcountName":  "sAMAccountName",
		"samaccoutnname": "sAMAccountName",
		"xyz":            "",
		"telephone":      "",
		"ml":             "",        // two edits from "mail" but too short to guess
		"surnme":         "surname", // aliases are suggested too (sn's)
	} {
		if got := s.Suggest(attr); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", attr, got, want)
		}
	}
	err = s.Check("attribute_mapping.email", "mial")
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "attribute_mapping.email" || !strings.Contains(ce.Reason, `did you mean "mail"?`) {
		t.Fatalf("Check(mial) = %v", err)
	}
	if err := s.Check("attributes", "telephone"); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("Check(telephone) = %v, want an error without a suggestion", err)
	}
	if err := s.Check("username_attribute", "SAMACCOUNTNAME"); err != nil {
		t.Errorf("Check(SAMACCOUNTNAME) = %v", err)
	}
	if _, err := ParseSchema([]string{"garbage"}); err == nil {
		t.Error("ParseSchema of nothing parsable succeeded")
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"mail", "mail", 0}, {"mial", "mail", 1}, {"mail", "mails", 1}, {"mal", "mail", 1}, {"uid", "cn", 3}, {"", "cn", 2}} {
		if got := editDistance(tt.a, tt.b, 10); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.a, tt.b, 1); got != min(tt.want, 1) {
			t.Errorf("editDistance(%q, %q, bound 1) = %d, want %d", tt.a, tt.b, got, min(tt.want, 1))
		}
	}
}

// TestReadSchema reads OpenLDAP's real subschema entry as the limited service
// account, and a hidden one as ErrSchemaUnavailable.
func TestReadSchema(t *testing.T) {
	ctx := context.Background()
	t.Run("openldap", func(t *testing.T) {
		srv := slapd.StartT(t, slapd.Options{})
		d := openT(t, Config{URL: srv.URL, BindDN: srv.ServiceDN, BindPassword: srv.ServicePassword, AllowInsecureBind: true})
		s, err := d.ReadSchema(ctx)
		if err != nil {
			t.Fatal(err)
		}
		checkFixtureSchema(t, s)
	})
	t.Run("openldap, schema hidden from the bind account", func(t *testing.T) {
		srv := slapd.StartT(t, slapd.Options{HideSchema: true})
		d := openT(t, Config{URL: srv.URL, BindDN: srv.ServiceDN, BindPassword: srv.ServicePassword, AllowInsecureBind: true})
		if _, err := d.ReadSchema(ctx); !errors.Is(err, ErrSchemaUnavailable) {
			t.Fatalf("ReadSchema = %v, want ErrSchemaUnavailable", err)
		}
		// Reading users is unaffected.
		if _, err := d.Search(ctx, Query{BaseDN: srv.Suffix, Filter: "(uid=*)"}); err != nil {
			t.Fatalf("Search with the schema hidden: %v", err)
		}
	})
	// 389 DS: TestDirsrvSearch/schema.
}

// checkFixtureSchema asserts what every directory's schema must define for the fixtures.
func checkFixtureSchema(t *testing.T, s *Schema) {
	t.Helper()
	for _, name := range []string{"mail", "uid", "givenName", "employeeNumber", "memberOf", "nsAccountLock", "entryUUID", "cn;lang-de"} {
		if !s.Defines(name) {
			t.Errorf("schema lacks %q", name)
		}
	}
	if err := s.Check("attribute_mapping.email", "mial"); err == nil || !strings.Contains(err.Error(), `did you mean "mail"?`) {
		t.Errorf("Check(mial) = %v", err)
	}
}
