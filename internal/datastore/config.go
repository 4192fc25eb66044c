package datastore

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Directory types (Config.DirectoryType).
const (
	DirectoryActiveDirectory = "active_directory"
	DirectoryOpenLDAP        = "openldap"
	DirectoryGeneric         = "generic"
	// DefaultDirectoryType applies when Config.DirectoryType is empty.
	DefaultDirectoryType = DirectoryGeneric
)

// DirectoryTypes lists the valid Config.DirectoryType values, for validators
// and documentation.
func DirectoryTypes() []string {
	return []string{DirectoryActiveDirectory, DirectoryOpenLDAP, DirectoryGeneric}
}

// Defaults and limits.
const (
	DefaultPageSize = 1000
	DefaultTimeout  = 30 * time.Second
	// MaxNestingDepth bounds recursive group expansion outside Active Directory.
	MaxNestingDepth = 32
)

// Config describes how to reach and authenticate to the directory.
type Config struct {
	URL          string // ldap://host[:port] or ldaps://host[:port]
	BindDN       string // empty: anonymous
	BindPassword string
	// DirectoryType selects disabled-account and nested-group semantics:
	// one of DirectoryTypes(); empty means DefaultDirectoryType.
	DirectoryType      string
	StartTLS           bool
	InsecureSkipVerify bool
	// AllowInsecureBind permits sending BindPassword over an unencrypted
	// connection (ldap:// without StartTLS).
	AllowInsecureBind bool
	CACertificate     string // PEM; system roots when empty
	// PageSize is the entries per page of the paged results control; default 1000.
	// A directory that refuses it gets smaller pages (see withPageSizeFallback).
	PageSize int
	// PageSizes remembers the page size the directory accepted across Opens;
	// nil: each Directory learns it anew.
	PageSizes *PageSizeMemory
	// Log, when set, receives notes for the operator (the page size that worked).
	Log     func(ctx context.Context, msg string, fields map[string]any)
	Timeout time.Duration // dial, TLS, bind and each LDAP operation; default 30s
}

// ConfigError is an invalid Config or Query setting. Field uses the provider's
// attribute names.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
}

// DefaultUsernameAttribute is the username attribute used when a query names
// none: sAMAccountName on Active Directory, uid elsewhere.
func DefaultUsernameAttribute(directoryType string) string {
	if directoryType == DirectoryActiveDirectory {
		return "sAMAccountName"
	}
	return "uid"
}

// Validate checks the settings without contacting the server.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	shown := redactURL(c.URL, u, err)
	if err != nil {
		return &ConfigError{Field: "url", Reason: fmt.Sprintf("%q is not a URL", shown)}
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "ldap" && scheme != "ldaps" {
		return &ConfigError{Field: "url", Reason: fmt.Sprintf("%q must start with ldap:// or ldaps://", shown)}
	}
	if u.Hostname() == "" {
		return &ConfigError{Field: "url", Reason: fmt.Sprintf("%q has no host", shown)}
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return &ConfigError{Field: "url", Reason: fmt.Sprintf("%q has an invalid port", shown)}
		}
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		return &ConfigError{Field: "url", Reason: fmt.Sprintf("%q must be scheme://host[:port] only; set the base DN on the data source", shown)}
	}
	if c.StartTLS && scheme == "ldaps" {
		return &ConfigError{Field: "start_tls", Reason: "start_tls cannot be combined with an ldaps:// URL (already TLS)"}
	}
	if c.DirectoryType != "" && !slices.Contains(DirectoryTypes(), c.DirectoryType) {
		quoted := make([]string, 0, len(DirectoryTypes()))
		for _, t := range DirectoryTypes() {
			quoted = append(quoted, strconv.Quote(t))
		}
		return &ConfigError{Field: "directory_type", Reason: fmt.Sprintf("%q is not one of %s", c.DirectoryType, strings.Join(quoted, ", "))}
	}
	if c.PageSize < 0 {
		return &ConfigError{Field: "page_size", Reason: "must be positive"}
	}
	if c.Timeout < 0 {
		return &ConfigError{Field: "timeout", Reason: "must be positive"}
	}
	if c.CACertificate != "" {
		if _, err := certPool(c.CACertificate); err != nil {
			return &ConfigError{Field: "ca_certificate", Reason: err.Error()}
		}
	}
	if c.BindPassword != "" && c.BindDN == "" {
		return &ConfigError{Field: "bind_dn", Reason: "bind_password is set but bind_dn is empty"}
	}
	if c.BindDN != "" && c.BindPassword == "" {
		// RFC 4513 5.1.2: a DN with an empty password is an "unauthenticated"
		// bind that many servers accept as anonymous, hiding a missing secret.
		return &ConfigError{Field: "bind_password", Reason: "bind_dn is set but bind_password is empty " +
			"(a bind without a password would be anonymous): set it, or remove bind_dn to bind anonymously"}
	}
	if c.BindPassword != "" && scheme == "ldap" && !c.StartTLS && !c.AllowInsecureBind {
		return &ConfigError{Field: "allow_insecure_bind", Reason: "refusing to send the bind password unencrypted over ldap://; " +
			"use ldaps://, start_tls = true, or set allow_insecure_bind = true"}
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.DirectoryType == "" {
		c.DirectoryType = DefaultDirectoryType
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

func certPool(caPEM string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	rest := []byte(caPEM)
	count := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d does not parse: %w", count+1, err)
		}
		pool.AddCert(cert)
		count++
	}
	if count == 0 {
		return nil, fmt.Errorf("no PEM CERTIFICATE block found")
	}
	return pool, nil
}

// redactURL is the URL as errors may show it: a password in the userinfo is never echoed.
func redactURL(raw string, u *url.URL, parseErr error) string {
	if parseErr != nil {
		if strings.Contains(raw, "@") {
			return "(unparseable URL with userinfo, not shown)"
		}
		return raw
	}
	return u.Redacted()
}
