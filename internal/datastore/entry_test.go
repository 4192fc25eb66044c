package datastore

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Active Directory sends objectGUID as 16 raw bytes whose first three groups
// are little-endian (Windows GUID layout); tools show the swapped form.
func TestFormatGUID(t *testing.T) {
	tests := []struct{ wire, want string }{
		// The bytes AD returns for {3F2504E0-4F89-11D3-9A0C-0305E82C3301}.
		{"e004253f894fd3119a0c0305e82c3301", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
		{"33221100554477668899aabbccddeeff", "00112233-4455-6677-8899-aabbccddeeff"},
	}
	for _, tt := range tests {
		got, err := FormatGUID(mustHex(t, tt.wire))
		if err != nil || got != tt.want {
			t.Errorf("FormatGUID(%s) = %q, %v; want %q", tt.wire, got, err, tt.want)
		}
	}
	if _, err := FormatGUID([]byte("0123456789")); err == nil {
		t.Error("FormatGUID accepted 10 bytes")
	}
}

func TestFormatSID(t *testing.T) {
	// Microsoft's example SID S-1-5-21-3623811015-3361044348-30300820-1013 on the wire.
	got, err := FormatSID(mustHex(t, "010500000000000515000000c7f7fed77c7755c8945ace01f5030000"))
	if want := "S-1-5-21-3623811015-3361044348-30300820-1013"; err != nil || got != want {
		t.Errorf("FormatSID = %q, %v; want %q", got, err, want)
	}
	if _, err := FormatSID(mustHex(t, "0105000000000005150000")); err == nil {
		t.Error("FormatSID accepted a truncated SID")
	}
}

func TestUserAccountControlDisabled(t *testing.T) {
	tests := []struct {
		value    string
		disabled bool
	}{
		{"512", false},        // NORMAL_ACCOUNT
		{"514", true},         // NORMAL_ACCOUNT | ACCOUNTDISABLE (samba-tool user disable)
		{"546", true},         // + PASSWD_NOTREQD: LDIF-created user without a password
		{"66048", false},      // NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD
		{"66050", true},       // ... | ACCOUNTDISABLE
		{"528", false},        // NORMAL_ACCOUNT | LOCKOUT: locked out is not disabled
		{"8388608", false},    // PASSWORD_EXPIRED alone
		{"-2147483646", true}, // high bit set (signed 32-bit on the wire) | ACCOUNTDISABLE
		{" 514 ", true},
	}
	for _, tt := range tests {
		got, err := UserAccountControlDisabled(tt.value)
		if err != nil || got != tt.disabled {
			t.Errorf("UserAccountControlDisabled(%q) = %v, %v; want %v", tt.value, got, err, tt.disabled)
		}
	}
	if _, err := UserAccountControlDisabled("disabled"); err == nil {
		t.Error("UserAccountControlDisabled accepted a non-integer")
	}
}

func TestEntryEnabled(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		attrs   map[string][]string
		enabled bool
	}{
		{"ad enabled", DirectoryActiveDirectory, map[string][]string{"userAccountControl": {"512"}}, true},
		{"ad disabled", DirectoryActiveDirectory, map[string][]string{"userAccountControl": {"514"}}, false},
		{"ad no uac", DirectoryActiveDirectory, nil, true},
		{"ad ignores nsAccountLock", DirectoryActiveDirectory, map[string][]string{"nsAccountLock": {"true"}, "userAccountControl": {"512"}}, true},
		{"openldap admin lock", DirectoryOpenLDAP, map[string][]string{"pwdAccountLockedTime": {"000001010000Z"}}, false},
		{"openldap temporary lockout", DirectoryOpenLDAP, map[string][]string{"pwdAccountLockedTime": {"20260101120000Z"}}, true},
		{"openldap nsAccountLock", DirectoryOpenLDAP, map[string][]string{"nsAccountLock": {"TRUE"}}, false},
		{"generic nsAccountLock lower-case", DirectoryGeneric, map[string][]string{"NSACCOUNTLOCK": {"true"}}, false},
		{"generic nsAccountLock false", DirectoryGeneric, map[string][]string{"nsAccountLock": {"false"}}, true},
		{"generic admin lock", DirectoryGeneric, map[string][]string{"pwdAccountLockedTime": {"000001010000Z"}}, false},
		{"generic ignores uac", DirectoryGeneric, map[string][]string{"userAccountControl": {"514"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := entryEnabled(ldap.NewEntry("uid=x,dc=example,dc=com", tt.attrs), tt.typ)
			if err != nil || got != tt.enabled {
				t.Fatalf("entryEnabled = %v, %v; want %v", got, err, tt.enabled)
			}
		})
	}
	if _, err := entryEnabled(ldap.NewEntry("cn=x", map[string][]string{"userAccountControl": {"x"}}), DirectoryActiveDirectory); err == nil {
		t.Error("a malformed userAccountControl must fail the read, not guess")
	}
}

func TestEntryID(t *testing.T) {
	guid := string(mustHex(t, "e004253f894fd3119a0c0305e82c3301"))
	tests := []struct {
		name  string
		attrs map[string][]string
		want  string
	}{
		{"objectGUID first", map[string][]string{"objectGUID": {guid}, "entryUUID": {"x"}}, "3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
		{"entryUUID", map[string][]string{"entryuuid": {"7E7ACF80-7d7a-1041-8517-e93fcf355a31"}}, "7e7acf80-7d7a-1041-8517-e93fcf355a31"},
		{"nsUniqueId", map[string][]string{"nsUniqueId": {"c2a6d285-1dd111b2-80e9dbd6-4bd50000"}}, "c2a6d285-1dd111b2-80e9dbd6-4bd50000"},
		{"none", map[string][]string{"uid": {"x"}}, ""},
	}
	for _, tt := range tests {
		got, err := entryID(ldap.NewEntry("cn=x", tt.attrs))
		if err != nil || got != tt.want {
			t.Errorf("%s: entryID = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestToEntryAttributes(t *testing.T) {
	e := ldap.NewEntry("uid=alice,ou=people,dc=example,dc=com", map[string][]string{
		"uid":                      {"alice"},
		"mail":                     {"alice@example.com", "alias@example.com"},
		"objectGUID":               {string(mustHex(t, "33221100554477668899aabbccddeeff"))},
		"objectSid":                {string(mustHex(t, "010500000000000515000000c7f7fed77c7755c8945ace01f5030000"))},
		"jpegPhoto":                {"\xff\xd8\xff\xe0"},
		"memberOf;range=0-1499":    {"cn=g1,dc=example,dc=com"},
		"description;lang-en":      {"tagged"},
		"userAccountControl":       {"514"},
		"sAMAccountName":           {"alice"},
		"displayName":              {"Ålice"},
		"proxyAddresses;range=0-*": {"smtp:a@example.com"},
	})
	got, err := toEntry(e, "UID", []string{"MAIL", "objectGUID", "objectSid", "jpegPhoto", "memberOf", "displayName", "missing", "proxyAddresses", "description"}, DirectoryActiveDirectory)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"MAIL":           "alice@example.com",
		"objectGUID":     "00112233-4455-6677-8899-aabbccddeeff",
		"objectSid":      "S-1-5-21-3623811015-3361044348-30300820-1013",
		"jpegPhoto":      "/9j/4A==",
		"memberOf":       "cn=g1,dc=example,dc=com",
		"displayName":    "Ålice",
		"proxyAddresses": "smtp:a@example.com",
	}
	if len(got.Attributes) != len(want) {
		t.Errorf("Attributes = %v, want %v", got.Attributes, want)
	}
	for k, v := range want {
		if got.Attributes[k] != v {
			t.Errorf("Attributes[%q] = %q, want %q", k, got.Attributes[k], v)
		}
	}
	if got.Username != "alice" || got.Enabled || got.ID != "00112233-4455-6677-8899-aabbccddeeff" {
		t.Errorf("entry = %+v", got)
	}

	_, err = toEntry(ldap.NewEntry("cn=nobody,dc=example,dc=com", map[string][]string{"cn": {"nobody"}}), "uid", nil, DirectoryGeneric)
	if !errors.Is(err, ErrMissingUsername) || !strings.Contains(err.Error(), "cn=nobody,dc=example,dc=com") {
		t.Errorf("missing username: err = %v, want ErrMissingUsername naming the DN", err)
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		name, attr    string
		low, high     int
		last, ok, bad bool
	}{
		{name: "member;range=0-1499", attr: "member", low: 0, high: 1499, ok: true},
		{name: "member;range=1500-*", attr: "member", low: 1500, last: true, ok: true},
		{name: "Member;Range=0-*", attr: "member", low: 0, last: true, ok: true},
		{name: "member;range=3000-2999", attr: "member", low: 3000, high: 2999, ok: true}, // empty final chunk form
		{name: "member", attr: "member"},
		{name: "memberOf;range=0-10", attr: "member"},
		{name: "member;binary", attr: "member"},
		{name: "member;range=abc-*", attr: "member", bad: true},
		{name: "member;range=10", attr: "member", bad: true},
		{name: "member;range=10-3", attr: "member", bad: true},
		{name: "member;range=-1-5", attr: "member", bad: true},
	}
	for _, tt := range tests {
		low, high, last, ok, err := parseRange(tt.name, tt.attr)
		if tt.bad {
			if err == nil {
				t.Errorf("parseRange(%q) accepted a malformed range", tt.name)
			}
			continue
		}
		if err != nil || ok != tt.ok || low != tt.low || high != tt.high || last != tt.last {
			t.Errorf("parseRange(%q, %q) = %d, %d, %v, %v, %v; want %d, %d, %v, %v",
				tt.name, tt.attr, low, high, last, ok, err, tt.low, tt.high, tt.last, tt.ok)
		}
	}
}

func TestMemberOfFilter(t *testing.T) {
	dn := `CN=R&D \2C (core)*,OU=Groups,DC=example,DC=com`
	if got, want := MemberOfFilter(dn, true), `(memberOf:1.2.840.113556.1.4.1941:=CN=R&D \5c2C \28core\29\2a,OU=Groups,DC=example,DC=com)`; got != want {
		t.Errorf("nested filter = %s, want %s", got, want)
	}
	if got, want := MemberOfFilter("CN=Eng,DC=example,DC=com", false), `(memberOf=CN=Eng,DC=example,DC=com)`; got != want {
		t.Errorf("direct filter = %s, want %s", got, want)
	}
	// The escaped filter must compile to a single equality / extensible match.
	for _, nested := range []bool{false, true} {
		f := MemberOfFilter(`CN=x)(objectClass=*,DC=y`, nested)
		p, err := ldap.CompileFilter(f)
		if err != nil {
			t.Fatalf("CompileFilter(%s): %v", f, err)
		}
		want := uint64(ldap.FilterEqualityMatch)
		if nested {
			want = ldap.FilterExtensibleMatch
		}
		if p.Tag != ber.Tag(want) {
			t.Errorf("filter %s compiled to %s, want a single %s", f, ldap.FilterMap[uint64(p.Tag)], ldap.FilterMap[want])
		}
		value := p.Children[len(p.Children)-1]
		if got := value.Data.String(); got != `CN=x)(objectClass=*,DC=y` {
			t.Errorf("assertion value = %q, want the DN verbatim", got)
		}
	}
}

func TestADPartitionReferrals(t *testing.T) {
	tests := []struct {
		ref    string
		ignore bool
	}{
		{"ldap://example.test/CN=Configuration,DC=example,DC=test", true},
		{"ldap://DomainDnsZones.example.test/DC=DomainDnsZones,DC=example,DC=test", true},
		{"ldap://ForestDnsZones.example.test/DC=ForestDnsZones,DC=example,DC=test", true},
		{"ldap://emea.example.test/DC=emea,DC=example,DC=test", false}, // child domain: users
		{"ldap://other.example/ou=people,dc=example,dc=com??sub", false},
		{"garbage", false},
	}
	ad := &Directory{cfg: Config{DirectoryType: DirectoryActiveDirectory}}
	generic := &Directory{cfg: Config{DirectoryType: DirectoryGeneric}}
	for _, tt := range tests {
		if got := len(ad.relevantReferrals([]string{tt.ref})) == 0; got != tt.ignore {
			t.Errorf("AD ignores %q = %v, want %v", tt.ref, got, tt.ignore)
		}
		if len(generic.relevantReferrals([]string{tt.ref})) != 1 {
			t.Errorf("generic must not ignore %q", tt.ref)
		}
	}
}

func TestValidAttributeName(t *testing.T) {
	for _, ok := range []string{"uid", "sAMAccountName", "mail", "x-custom-attr", "userCertificate;binary", "1.2.840.113556.1.4.1941", "cn;lang-en"} {
		if !validAttributeName(ok) {
			t.Errorf("validAttributeName(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", "uid=*", "uid)(objectClass=*", "a b", "-uid", "1uid", "1..2", "1.2.", "uid;", "(uid)", "uid*", "ü"} {
		if validAttributeName(bad) {
			t.Errorf("validAttributeName(%q) = true", bad)
		}
	}
}

func TestRDNFilterEscapes(t *testing.T) {
	dn, err := ldap.ParseDN(`uid=a*)(uid=\2a\\,ou=people,dc=example,dc=com`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rdnFilter(dn.RDNs[0])
	if want := `(uid=a\2a\29\28uid=\2a\5c)`; err != nil || got != want {
		t.Errorf("rdnFilter = %s, %v; want %s", got, err, want)
	}
	multi, _ := ldap.ParseDN(`cn=Jo+sn=Doe,dc=x`)
	if got, _ := rdnFilter(multi.RDNs[0]); got != "(&(cn=Jo)(sn=Doe))" {
		t.Errorf("multi-valued RDN filter = %s", got)
	}
	bad := &ldap.RelativeDN{Attributes: []*ldap.AttributeTypeAndValue{{Type: "uid=*)(x", Value: "v"}}}
	if _, err := rdnFilter(bad); err == nil {
		t.Error("rdnFilter accepted an attribute type that would change the filter")
	}
}

func TestNormDN(t *testing.T) {
	same := [][]string{
		{"UID=Alice,OU=People,DC=Example,DC=Com", "uid=alice, ou=people, dc=example, dc=com"},
		{`cn=Smith\, John,dc=x`, `CN=smith\2c john,DC=X`},
		{"cn=a+sn=b,dc=x", "sn=B+cn=A,dc=x"},
		{"uid=jürgen,dc=x", "uid=JÜRGEN,dc=x"},
	}
	for _, pair := range same {
		a, _ := ldap.ParseDN(pair[0])
		b, _ := ldap.ParseDN(pair[1])
		if normDN(a) != normDN(b) {
			t.Errorf("normDN(%q) = %q != normDN(%q) = %q", pair[0], normDN(a), pair[1], normDN(b))
		}
	}
	different := [][]string{
		{`cn=a\,b,dc=x`, "cn=a,cn=b,dc=x"},
		{"cn=a+sn=b,dc=x", `cn=a\+sn=b,dc=x`},
	}
	for _, pair := range different {
		a, _ := ldap.ParseDN(pair[0])
		b, _ := ldap.ParseDN(pair[1])
		if normDN(a) == normDN(b) {
			t.Errorf("normDN(%q) == normDN(%q)", pair[0], pair[1])
		}
	}
}

func TestNormalizeFilter(t *testing.T) {
	if got, err := normalizeFilter("filter", " department=Engineering "); err != nil || got != "(department=Engineering)" {
		t.Errorf("normalizeFilter added parens = %q, %v", got, err)
	}
	if got, err := normalizeFilter("filter", ""); err != nil || got != "" {
		t.Errorf("empty filter = %q, %v", got, err)
	}
	var ce *ConfigError
	if _, err := normalizeFilter("disabled_filter", "(&(a=b)"); !errors.As(err, &ce) || ce.Field != "disabled_filter" {
		t.Errorf("unbalanced filter: err = %v, want ConfigError on disabled_filter", err)
	}
}
