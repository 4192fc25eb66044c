package slapd

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Apply runs LDIF change records as the rootdn, in order, like ldapmodify -a:
// records without a changetype are adds; changetype add, modify
// (add/replace/delete sections), delete and modrdn/moddn are supported.
// It stops at the first failing record.
func (s *Server) Apply(ctx context.Context, ldif string) error {
	conn, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return ApplyLDIF(ctx, conn, ldif)
}

// ApplyLDIF runs LDIF change records on conn (see Server.Apply); other
// directory harnesses (389 DS) share it. Cancelling ctx closes conn.
func ApplyLDIF(ctx context.Context, conn *ldap.Conn, ldif string) error {
	changes, err := parseLDIF(ldif)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	for _, c := range changes {
		if err := c.apply(conn); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("ldif record at line %d (%s %q): %w", c.line, c.kind, c.dn, ctx.Err())
			}
			return fmt.Errorf("ldif record at line %d (%s %q): %w", c.line, c.kind, c.dn, err)
		}
	}
	return nil
}

type ldifAttr struct{ name, value string }

type ldifMod struct {
	op, attr string
	values   []string
}

type ldifChange struct {
	line        int
	dn          string
	kind        string // add, modify, delete, modrdn
	attrs       []ldifAttr
	mods        []ldifMod
	newRDN      string
	deleteOld   bool
	newSuperior string
}

func (c *ldifChange) apply(conn *ldap.Conn) error {
	switch c.kind {
	case "add":
		req := ldap.NewAddRequest(c.dn, nil)
		var order []string
		values := map[string][]string{}
		for _, a := range c.attrs {
			key := strings.ToLower(a.name)
			if _, ok := values[key]; !ok {
				order = append(order, a.name)
			}
			values[key] = append(values[key], a.value)
		}
		for _, name := range order {
			req.Attribute(name, values[strings.ToLower(name)])
		}
		return conn.Add(req)
	case "modify":
		req := ldap.NewModifyRequest(c.dn, nil)
		for _, m := range c.mods {
			switch m.op {
			case "add":
				req.Add(m.attr, m.values)
			case "replace":
				req.Replace(m.attr, m.values)
			case "delete":
				req.Delete(m.attr, m.values)
			}
		}
		return conn.Modify(req)
	case "delete":
		return conn.Del(ldap.NewDelRequest(c.dn, nil))
	case "modrdn":
		return conn.ModifyDN(ldap.NewModifyDNRequest(c.dn, c.newRDN, c.deleteOld, c.newSuperior))
	}
	return fmt.Errorf("unsupported changetype %q", c.kind)
}

type ldifLine struct {
	no          int
	name, value string
}

// parseLDIF parses LDIF (RFC 2849) content and change records. Raw UTF-8
// values are accepted as ldapadd does; "attr:< URL" values are not.
func parseLDIF(text string) ([]*ldifChange, error) {
	var (
		changes []*ldifChange
		record  []ldifLine
		raw     []string // physical lines of the current logical line
		rawNo   int
	)
	flushLine := func() error {
		if raw == nil {
			return nil
		}
		logical := strings.Join(raw, "")
		raw = nil
		if strings.HasPrefix(logical, "#") {
			return nil
		}
		l, err := splitLDIFLine(rawNo, logical)
		if err != nil {
			return err
		}
		record = append(record, l)
		return nil
	}
	flushRecord := func() error {
		if err := flushLine(); err != nil {
			return err
		}
		if len(record) == 0 {
			return nil
		}
		if len(changes) == 0 && strings.EqualFold(record[0].name, "version") {
			record = record[1:]
		}
		if len(record) > 0 {
			c, err := buildChange(record)
			if err != nil {
				return err
			}
			changes = append(changes, c)
		}
		record = nil
		return nil
	}

	scanner := bufio.NewScanner(strings.NewReader(text))
	scanner.Buffer(make([]byte, 64<<10), 64<<20)
	no := 0
	for scanner.Scan() {
		no++
		line := strings.TrimSuffix(scanner.Text(), "\r")
		switch {
		case line == "":
			if err := flushRecord(); err != nil {
				return nil, err
			}
		case line[0] == ' ':
			if raw == nil {
				return nil, fmt.Errorf("ldif line %d: continuation without a line to continue", no)
			}
			raw = append(raw, line[1:])
		default:
			if err := flushLine(); err != nil {
				return nil, err
			}
			raw, rawNo = []string{line}, no
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("read ldif: %w", err)
	}
	if err := flushRecord(); err != nil {
		return nil, err
	}
	return changes, nil
}

func splitLDIFLine(no int, line string) (ldifLine, error) {
	if line == "-" {
		return ldifLine{no: no, name: "-"}, nil
	}
	name, rest, ok := strings.Cut(line, ":")
	if !ok || name == "" {
		return ldifLine{}, fmt.Errorf("ldif line %d: expected \"attribute: value\"", no)
	}
	switch {
	case strings.HasPrefix(rest, ":"):
		decoded, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest[1:]))
		if err != nil {
			return ldifLine{}, fmt.Errorf("ldif line %d: base64 value of %s: %w", no, name, err)
		}
		return ldifLine{no: no, name: name, value: string(decoded)}, nil
	case strings.HasPrefix(rest, "<"):
		return ldifLine{}, fmt.Errorf("ldif line %d: URL values are not supported", no)
	}
	return ldifLine{no: no, name: name, value: strings.TrimLeft(rest, " ")}, nil
}

func buildChange(lines []ldifLine) (*ldifChange, error) {
	if !strings.EqualFold(lines[0].name, "dn") {
		return nil, fmt.Errorf("ldif line %d: record must start with a dn line", lines[0].no)
	}
	c := &ldifChange{line: lines[0].no, dn: lines[0].value, kind: "add"}
	lines = lines[1:]
	// RFC 2849 allows controls before the changetype; this harness does not need them.
	if len(lines) > 0 && strings.EqualFold(lines[0].name, "changetype") {
		c.kind = strings.ToLower(lines[0].value)
		lines = lines[1:]
	}
	switch c.kind {
	case "add":
		for _, l := range lines {
			if l.name == "-" {
				return nil, fmt.Errorf("ldif line %d: unexpected \"-\" in an add record", l.no)
			}
			c.attrs = append(c.attrs, ldifAttr{name: l.name, value: l.value})
		}
	case "delete":
		if len(lines) > 0 {
			return nil, fmt.Errorf("ldif line %d: a delete record takes no attributes", lines[0].no)
		}
	case "modrdn", "moddn":
		c.kind = "modrdn"
		for _, l := range lines {
			switch strings.ToLower(l.name) {
			case "newrdn":
				c.newRDN = l.value
			case "deleteoldrdn":
				v, err := strconv.Atoi(l.value)
				if err != nil || (v != 0 && v != 1) {
					return nil, fmt.Errorf("ldif line %d: deleteoldrdn must be 0 or 1", l.no)
				}
				c.deleteOld = v == 1
			case "newsuperior":
				c.newSuperior = l.value
			default:
				return nil, fmt.Errorf("ldif line %d: unexpected %q in a modrdn record", l.no, l.name)
			}
		}
		if c.newRDN == "" {
			return nil, fmt.Errorf("ldif line %d: modrdn record without newrdn", c.line)
		}
	case "modify":
		var current *ldifMod
		for _, l := range lines {
			switch {
			case l.name == "-":
				if current == nil {
					return nil, fmt.Errorf("ldif line %d: \"-\" without a modification", l.no)
				}
				c.mods = append(c.mods, *current)
				current = nil
			case current == nil:
				op := strings.ToLower(l.name)
				if op != "add" && op != "replace" && op != "delete" {
					return nil, fmt.Errorf("ldif line %d: expected add:, replace: or delete:, got %q", l.no, l.name)
				}
				current = &ldifMod{op: op, attr: l.value}
			case strings.EqualFold(l.name, current.attr):
				current.values = append(current.values, l.value)
			default:
				return nil, fmt.Errorf("ldif line %d: value of %q inside the %s: %s section", l.no, l.name, current.op, current.attr)
			}
		}
		if current != nil { // the final "-" is optional in practice
			c.mods = append(c.mods, *current)
		}
	default:
		return nil, fmt.Errorf("ldif line %d: unknown changetype %q", c.line, c.kind)
	}
	return c, nil
}
