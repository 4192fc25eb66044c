package planreport

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Action is what a row does to one user in PingID. The names are the provider's audit-log
// actions (TF_LOG "planned user action"), plus the device rows.
type Action string

const (
	ActionLink         Action = "link"
	ActionEnable       Action = "enable"
	ActionDeviceAdd    Action = "device_add"
	ActionDeviceChange Action = "device_change"
	ActionDisable      Action = "disable"
	ActionDelete       Action = "delete"
	ActionDeviceRemove Action = "device_remove"
	ActionUpdate       Action = "update"
	ActionCreate       Action = "create"
	ActionStateOnly    Action = "state_only"
)

// Actions lists every action in report order.
var Actions = []Action{
	ActionLink, ActionEnable, ActionDeviceAdd, ActionDeviceChange,
	ActionDisable, ActionDelete, ActionDeviceRemove,
	ActionUpdate, ActionCreate, ActionStateOnly,
}

// Section is one part of the review; each action belongs to exactly one section.
type Section struct {
	ID, Title, Description string
	Actions                []Action
	Rows                   []Row
}

// sectionDefs is the order of the review: what widens access first, then what removes it.
var sectionDefs = []Section{
	{ID: "widening", Title: "Access widening", Description: "re-enabled users, existing PingID users linked, new or changed MFA devices",
		Actions: []Action{ActionLink, ActionEnable, ActionDeviceAdd, ActionDeviceChange}},
	{ID: "removing", Title: "Access removing", Description: "disabled and deleted users, removed MFA devices",
		Actions: []Action{ActionDisable, ActionDelete, ActionDeviceRemove}},
	{ID: "updates", Title: "Updates", Description: "changed email or names of managed users",
		Actions: []Action{ActionUpdate}},
	{ID: "creates", Title: "New users", Description: "users created in PingID",
		Actions: []Action{ActionCreate}},
	{ID: "record", Title: "Record-only changes", Description: "dn, source_state or status bookkeeping in state; no PingID call",
		Actions: []Action{ActionStateOnly}},
}

// Row is one user's change.
type Row struct {
	Resource    string // address of the connection, or of the pingid_mapped_user without its key
	Connection  string // the connection's name, or the mapped-user address
	User        string
	Action      Action
	Reason      string
	SourceState string // "in_scope", or "out_of_scope → in_scope" when it changes; "" for mapped users
	Changes     []Change
	NewUser     bool // Changes are the planned values of a created or linked user, not old → new
	Deprovision bool // counts against the brakes (disable, delete, a link that suspends)
}

// Resource is one connection, or all instances of one pingid_mapped_user resource.
type Resource struct {
	Address      string
	Type         string
	Name         string
	PlanAction   string // Terraform's action: create, update, delete, replace, no-op
	Managed      int    // users before the plan (connections)
	Planned      int    // users after the plan (connections)
	UsersUnknown bool   // the users map is known only after apply
	Counts       map[Action]int
	Deprovisions int
	Brakes       []Brake
	Notes        []string

	instanceActions map[string]int // pingid_mapped_user: instances per Terraform action
}

// Brake is one deprovisioning limit and its headroom in this plan.
type Brake struct {
	Setting   string // max_deprovisions, max_deprovisions_percent
	Value     string // as configured: "10", "20"
	Unlimited bool   // -1
	Allowed   int    // deprovisions the setting allows for this connection
	Basis     string // how Allowed follows from Value, e.g. "20 % of 40 managed users"
	Planned   int

	percent float64
}

// Headroom is how many more deprovisions the brake would allow.
func (b Brake) Headroom() int { return b.Allowed - b.Planned }

// Report is the review of one plan.
type Report struct {
	CLI           string // "Terraform" or "OpenTofu", from the registry the provider was resolved from; "" if neither
	CLIVersion    string
	FormatVersion string
	Resources     []*Resource
	Sections      []Section
	Counts        map[Action]int
	Notes         []string
}

// Rows returns every row in section order.
func (r *Report) Rows() []Row {
	var out []Row
	for _, s := range r.Sections {
		out = append(out, s.Rows...)
	}
	return out
}

// TotalRows counts the rows of every section.
func (r *Report) TotalRows() int {
	n := 0
	for _, s := range r.Sections {
		n += len(s.Rows)
	}
	return n
}

// Build reads the JSON of a saved plan and reviews its PingID changes. An *InputError says why
// the input cannot be reviewed.
func Build(data []byte) (*Report, error) {
	p, err := parsePlan(data)
	if err != nil {
		return nil, err
	}
	changes := p.pingIDChanges()
	if len(changes) == 0 {
		return nil, inputErrorf("the plan has no %s or %s resources: nothing to review", TypeConnection, TypeMappedUser)
	}
	b := &builder{byAddress: map[string]*Resource{}}
	for _, rc := range changes {
		var err error
		if rc.Type == TypeConnection {
			err = b.connection(rc)
		} else {
			err = b.mappedUser(rc)
		}
		if err != nil {
			return nil, err
		}
	}
	rep := &Report{CLI: cliName(changes), CLIVersion: p.TerraformVersion, FormatVersion: *p.FormatVersion, Counts: map[Action]int{}}
	for _, res := range b.byAddress {
		rep.Resources = append(rep.Resources, res)
	}
	// Connections first, then the mapped users.
	slices.SortFunc(rep.Resources, func(a, b *Resource) int {
		return cmp.Or(cmp.Compare(typeOrder(a.Type), typeOrder(b.Type)), strings.Compare(a.Address, b.Address))
	})
	for _, res := range rep.Resources {
		if res.Type == TypeMappedUser {
			res.PlanAction = instanceActions(res.instanceActions)
		}
	}
	sectionOf := map[Action]int{}
	for i, s := range sectionDefs {
		rep.Sections = append(rep.Sections, Section{ID: s.ID, Title: s.Title, Description: s.Description, Actions: s.Actions})
		for _, a := range s.Actions {
			sectionOf[a] = i
		}
	}
	for _, row := range b.rows {
		i := sectionOf[row.Action]
		rep.Sections[i].Rows = append(rep.Sections[i].Rows, row)
		rep.Counts[row.Action]++
		res := b.byAddress[row.Resource]
		res.Counts[row.Action]++
		if row.Deprovision {
			res.Deprovisions++
		}
	}
	for i := range rep.Sections {
		slices.SortFunc(rep.Sections[i].Rows, compareRows)
	}
	for _, res := range rep.Resources {
		for i := range res.Brakes {
			res.Brakes[i].Planned = res.Deprovisions
			if res.Brakes[i].Setting == "max_deprovisions_percent" {
				percentBrake(&res.Brakes[i], res)
			}
		}
	}
	if b.mappedCreates > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d new pingid_mapped_user %s: apply links an existing PingID user of the same name instead of creating one; the plan cannot show which.",
			b.mappedCreates, plural(b.mappedCreates, "resource", "resources")))
	}
	if b.ambiguousLinks {
		rep.Notes = append(rep.Notes, "A connection's new user is shown as a link when PingID already holds it; an existing user who never activated (NOT_ACTIVE) cannot be told apart from a create in the plan and is shown as a create.")
	}
	return rep, nil
}

// cliName tells the CLI that wrote the plan by the registry host it resolved the provider
// from: both write "terraform_version".
func cliName(changes []*resourceChange) string {
	for _, rc := range changes {
		switch {
		case strings.HasPrefix(rc.ProviderName, "registry.opentofu.org/"):
			return "OpenTofu"
		case strings.HasPrefix(rc.ProviderName, "registry.terraform.io/"):
			return "Terraform"
		}
	}
	return ""
}

// CLIText is how the report names the CLI: "Terraform 1.5.7", "OpenTofu 1.12.6".
func (r *Report) CLIText() string {
	switch {
	case r.CLI != "" && r.CLIVersion != "":
		return r.CLI + " " + r.CLIVersion
	case r.CLIVersion != "":
		return "CLI " + r.CLIVersion
	}
	return "CLI -"
}

func typeOrder(t string) int {
	if t == TypeConnection {
		return 0
	}
	return 1
}

// rowTypeOrder puts connection rows before mapped-user rows, as the resources are listed.
func rowTypeOrder(r Row) int {
	if strings.HasPrefix(r.Resource, TypeMappedUser+".") || strings.Contains(r.Resource, "."+TypeMappedUser+".") {
		return 1
	}
	return 0
}

func compareRows(a, b Row) int {
	return cmp.Or(cmp.Compare(rowTypeOrder(a), rowTypeOrder(b)), strings.Compare(a.Connection, b.Connection), strings.Compare(a.User, b.User),
		cmp.Compare(slices.Index(Actions, a.Action), slices.Index(Actions, b.Action)))
}

type builder struct {
	byAddress      map[string]*Resource
	rows           []Row
	mappedCreates  int
	ambiguousLinks bool
}

func (b *builder) resource(address, typ, name string) *Resource {
	if r, ok := b.byAddress[address]; ok {
		return r
	}
	r := &Resource{Address: address, Type: typ, Name: name, Counts: map[Action]int{}}
	b.byAddress[address] = r
	return r
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// visible returns a copy of v without the attributes that are unknown until apply.
func visible(v map[string]any, unknown map[string]bool) map[string]any {
	out := make(map[string]any, len(v))
	for k, x := range v {
		if !unknown[k] {
			out[k] = x
		}
	}
	return out
}

// instanceActions summarises the instances' actions, e.g. "1 create, 2 update, 5 no-op".
func instanceActions(counts map[string]int) string {
	var parts []string
	for _, a := range []string{"create", "update", "delete", "replace", "no-op"} {
		if counts[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[a], a))
		}
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// sortedActions returns the actions with a non-zero count, in report order.
func sortedActions(counts map[Action]int) []Action {
	var out []Action
	for _, a := range Actions {
		if counts[a] > 0 {
			out = append(out, a)
		}
	}
	return out
}
