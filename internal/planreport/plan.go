package planreport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Resource types the report reads.
const (
	TypeConnection = "pingid_provisioning_connection"
	TypeMappedUser = "pingid_mapped_user"
)

// InputError is input the report cannot read: not JSON, not a plan, a plan from an unknown
// format version, or a plan without PingID resources. Its message is one line for the user.
type InputError struct{ msg string }

func (e *InputError) Error() string { return e.msg }

func inputErrorf(format string, args ...any) error {
	return &InputError{msg: fmt.Sprintf(format, args...)}
}

// present records that a JSON member exists without keeping its (possibly large) value.
type present bool

func (p *present) UnmarshalJSON([]byte) error { *p = true; return nil }

// planJSON is the part of Terraform's JSON plan representation the report reads
// (https://developer.hashicorp.com/terraform/internals/json-format); OpenTofu writes the same.
type planJSON struct {
	FormatVersion    *string          `json:"format_version"`
	TerraformVersion string           `json:"terraform_version"`
	PlannedValues    present          `json:"planned_values"`
	ResourceChanges  []resourceChange `json:"resource_changes"`
	Errored          bool             `json:"errored"`
}

type resourceChange struct {
	Address      string          `json:"address"`
	Mode         string          `json:"mode"`
	Type         string          `json:"type"`
	Name         string          `json:"name"`
	Index        json.RawMessage `json:"index"`
	ProviderName string          `json:"provider_name"`
	Change       struct {
		Actions      []string        `json:"actions"`
		Before       json.RawMessage `json:"before"`
		After        json.RawMessage `json:"after"`
		AfterUnknown json.RawMessage `json:"after_unknown"`
	} `json:"change"`
	ActionReason string `json:"action_reason"`
}

// supportedMajor is the format_version major this report understands; Terraform promises that
// minor versions only add to it.
const supportedMajor = "1"

// parsePlan decodes and checks the plan JSON.
func parsePlan(data []byte) (*planJSON, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return nil, inputErrorf("input is empty: pass the output of `terraform show -json PLANFILE` (a file or stdin)")
	case bytes.HasPrefix(trimmed, []byte("PK\x03\x04")):
		return nil, inputErrorf("input is a binary plan file, not its JSON: run `terraform show -json PLANFILE > plan.json` (or `tofu show -json`) and pass that")
	case trimmed[0] != '{':
		if json.Valid(trimmed) {
			return nil, inputErrorf("input is JSON but not a plan (it is not a JSON object): pass the output of `terraform show -json PLANFILE`")
		}
		return nil, inputErrorf("input is not JSON (starts with %q): pass the output of `terraform show -json PLANFILE`", firstLine(trimmed))
	}
	var p planJSON
	if err := json.Unmarshal(trimmed, &p); err != nil {
		var syntax *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntax) && strings.Contains(syntax.Error(), "after top-level value"):
			return nil, inputErrorf("input holds more than one JSON value: pass the output of one `terraform show -json PLANFILE`")
		case errors.As(err, &syntax):
			return nil, inputErrorf("input is not valid JSON (at byte %d: %v): pass the complete output of `terraform show -json PLANFILE`", syntax.Offset, err)
		case errors.As(err, &typeErr):
			return nil, inputErrorf("input is JSON but not a plan (%s has the wrong type): pass the output of `terraform show -json PLANFILE`", typeErr.Field)
		}
		return nil, inputErrorf("input is not valid JSON (%v): pass the complete output of `terraform show -json PLANFILE`", err)
	}
	if p.FormatVersion == nil || (!bool(p.PlannedValues) && p.ResourceChanges == nil) {
		return nil, inputErrorf("input is JSON but not a plan (no format_version and planned_values; a state file's `terraform show -json` is not a plan): pass the output of `terraform show -json PLANFILE`")
	}
	if major, _, _ := strings.Cut(*p.FormatVersion, "."); major != supportedMajor {
		return nil, inputErrorf("plan format_version %q is not supported (this report reads %s.x, written by Terraform >= 1.0 and OpenTofu)", *p.FormatVersion, supportedMajor)
	}
	if p.Errored {
		return nil, inputErrorf("the plan is errored (planning failed part way), so its changes are incomplete: fix the plan errors first")
	}
	return &p, nil
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	if len(line) > 20 {
		line = line[:20]
	}
	return string(line)
}

// pingIDChanges returns the managed resource changes the report reads, in plan order.
func (p *planJSON) pingIDChanges() []*resourceChange {
	var out []*resourceChange
	for i := range p.ResourceChanges {
		rc := &p.ResourceChanges[i]
		if rc.Mode != "" && rc.Mode != "managed" {
			continue
		}
		if rc.Type == TypeConnection || rc.Type == TypeMappedUser {
			out = append(out, rc)
		}
	}
	return out
}

// planAction names a resource's Terraform action: create, update, delete, replace, no-op, read.
func planAction(actions []string) string {
	switch {
	case len(actions) == 2:
		return "replace"
	case len(actions) == 1:
		return actions[0]
	}
	return strings.Join(actions, ",")
}

// baseAddress is the address without its instance key: pingid_mapped_user.member["bob"] ->
// pingid_mapped_user.member.
func baseAddress(rc *resourceChange) string {
	if len(rc.Index) == 0 || string(rc.Index) == "null" {
		return rc.Address
	}
	if i := strings.LastIndex(rc.Address, "["); i > 0 {
		return rc.Address[:i]
	}
	return rc.Address
}

// indexKey is the instance key as text (for_each key or count index).
func indexKey(rc *resourceChange) string {
	if len(rc.Index) == 0 || string(rc.Index) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(rc.Index, &s) == nil {
		return s
	}
	return string(rc.Index)
}
