package planreport

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
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

// connection reviews one pingid_provisioning_connection change.
func (b *builder) connection(rc *resourceChange) error {
	before, err := decodeConnection(rc.Change.Before)
	if err != nil {
		return inputErrorf("%s: before value is not a connection: %v", rc.Address, err)
	}
	after, err := decodeConnection(rc.Change.After)
	if err != nil {
		return inputErrorf("%s: after value is not a connection: %v", rc.Address, err)
	}
	name := ""
	for _, v := range []*connectionValues{after, before} {
		if v != nil && v.Name != nil {
			name = *v.Name
			break
		}
	}
	if name == "" {
		name = rc.Address
	}
	res := b.resource(rc.Address, TypeConnection, name)
	res.PlanAction = planAction(rc.Change.Actions)
	var priorUsers map[string]string
	if before != nil {
		priorUsers = before.Users
	}
	res.Managed = len(priorUsers)
	c := connReview{b: b, res: res, before: before, after: after}

	switch res.PlanAction {
	case "delete":
		res.Planned = 0
		c.destroy()
		c.brakes(before)
		return nil
	case "create", "replace":
		if res.PlanAction == "replace" {
			kept := 0
			for k := range priorUsers {
				if _, ok := after.usersOrNil()[k]; !ok {
					kept++
				}
			}
			res.Notes = append(res.Notes, fmt.Sprintf("The connection is replaced (%s): replacing never deprovisions, and the new connection takes over every user it finds in PingID.", orDash(rc.ActionReason)))
			if kept > 0 {
				res.Notes = append(res.Notes, fmt.Sprintf("%d %s of the old connection no longer in scope stay in PingID unmanaged.", kept, plural(kept, "user", "users")))
			}
		}
		priorUsers = nil
	case "update", "no-op":
	default:
		return nil
	}
	all, unknownKeys := unknownUsers(rc.Change.AfterUnknown)
	if all || after == nil {
		res.UsersUnknown = true
		res.Notes = append(res.Notes, "users is known only after apply (a setting of the connection or the provider depends on a value not yet known): its user changes cannot be reviewed in this plan.")
		c.brakes(after)
		return nil
	}
	res.Planned = len(after.Users)
	if err := c.diff(priorUsers, after.Users, unknownKeys); err != nil {
		return err
	}
	c.brakes(after)
	return nil
}

func (v *connectionValues) usersOrNil() map[string]string {
	if v == nil {
		return nil
	}
	return v.Users
}

type connReview struct {
	b             *builder
	res           *Resource
	before, after *connectionValues
}

func (c *connReview) add(row Row) {
	row.Resource = c.res.Address
	row.Connection = c.res.Name
	c.b.rows = append(c.b.rows, row)
}

func (c *connReview) parse(user, value, side string) (entry, error) {
	e, err := parseEntry(value)
	if err != nil {
		return nil, inputErrorf("%s: %s value of user %q is not a JSON object: %v", c.res.Address, side, user, err)
	}
	return e, nil
}

func (c *connReview) diff(prior, planned map[string]string, unknownKeys map[string]bool) error {
	unknown := 0
	var leftSuspended []string
	for user, value := range planned {
		old, managed := prior[user]
		if managed && strings.Contains(value, `"SUSPENDED"`) && suspendedOutside(value) {
			leftSuspended = append(leftSuspended, user)
		}
		if managed && old == value {
			continue
		}
		if unknownKeys[user] {
			unknown++
			continue
		}
		a, err := c.parse(user, value, "planned")
		if err != nil {
			return err
		}
		if !managed {
			c.newUser(user, a)
			continue
		}
		bEntry, err := c.parse(user, old, "prior")
		if err != nil {
			return err
		}
		c.managed(user, bEntry, a)
	}
	for user, old := range prior {
		if _, kept := planned[user]; kept {
			continue
		}
		bEntry, err := c.parse(user, old, "prior")
		if err != nil {
			return err
		}
		c.add(Row{User: user, Action: ActionDelete, Deprovision: true, SourceState: bEntry.str(fieldSourceState),
			Reason: "no longer in the source location (left it, disabled or deleted in the directory); remove_user_action = \"delete\""})
	}
	if unknown > 0 {
		c.res.Notes = append(c.res.Notes, fmt.Sprintf("%d %s known only after apply.", unknown, plural(unknown, "user is", "users are")))
	}
	if n := len(leftSuspended); n > 0 {
		slices.Sort(leftSuspended)
		c.res.Notes = append(c.res.Notes, fmt.Sprintf("%d %s suspended in PingID outside Terraform %s suspended (in scope; reactivate_suspended_users = true would re-activate them): %s.",
			n, plural(n, "user", "users"), plural(n, "stays", "stay"), listNames(leftSuspended, 20)))
	}
	return nil
}

// suspendedOutside reports whether a planned entry keeps a user suspended whom the connection
// did not suspend: in scope, enabled = false and SUSPENDED in PingID (the connection suspends
// only users in a removal state).
func suspendedOutside(value string) bool {
	e, err := parseEntry(value)
	if err != nil {
		return false
	}
	en, ok := e.enabled()
	return ok && !en && e.str(fieldSourceState) == "in_scope" && e.str(fieldStatus) == "SUSPENDED"
}

// listNames joins names, at most limit of them, saying how many more there are.
func listNames(names []string, limit int) string {
	if len(names) <= limit {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:limit], ", ") + fmt.Sprintf(" and %d more", len(names)-limit)
}

// newUser is a key only in the planned map: a create, or a link of an existing PingID user.
func (c *connReview) newUser(user string, a entry) {
	status := a.str(fieldStatus)
	enabled, _ := a.enabled()
	state := a.str(fieldSourceState)
	row := Row{User: user, SourceState: state, NewUser: true}
	if status == "" || status == "NOT_ACTIVE" {
		// Every new user is planned NOT_ACTIVE: the status says nothing here.
		row.Changes = append(attributeChanges(nil, a, map[string]bool{fieldStatus: true}), diffDevices(nil, a).added...)
		row.Action = ActionCreate
		row.Reason = "in scope, not in PingID"
		if state == "disabled" {
			row.Reason = "disabled in directory, created disabled"
		}
		c.add(row)
		return
	}
	c.b.ambiguousLinks = true
	row.Changes = append(attributeChanges(nil, a, nil), diffDevices(nil, a).added...)
	row.Action = ActionLink
	parts := []string{fmt.Sprintf("existing PingID user (%s) linked", status)}
	if state == "disabled" {
		parts = append(parts, "disabled in directory")
	}
	switch {
	case status == "SUSPENDED" && enabled:
		parts = append(parts, "re-activated")
	case status == "SUSPENDED":
		parts = append(parts, "stays suspended")
	case !enabled:
		parts = append(parts, "suspended")
		row.Deprovision = true
	}
	parts = append(parts, "its current PingID values are not in the plan")
	row.Reason = strings.Join(parts, "; ")
	c.add(row)
}

// managed is a key in both maps.
func (c *connReview) managed(user string, b, a entry) {
	be, _ := b.enabled()
	ae, _ := a.enabled()
	bState, aState := b.str(fieldSourceState), a.str(fieldSourceState)
	state := aState
	if bState != aState {
		state = bState + " → " + aState
	}
	changes := attributeChanges(b, a, nil)
	mapped := false
	for _, ch := range changes {
		switch ch.Field {
		case fieldEnabled, fieldDN, fieldStatus:
		default:
			mapped = true
		}
	}
	row := Row{User: user, SourceState: state, Changes: changes}
	switch {
	case be && !ae:
		row.Action, row.Deprovision = ActionDisable, true
		row.Reason = removalReason(aState)
		if aState == "in_scope" {
			row.Reason = "disabled"
		} else if bState == aState {
			row.Reason += ", still enabled in PingID (re-activated outside Terraform)"
		}
	case !be && ae:
		row.Action = ActionEnable
		switch {
		case bState != aState:
			row.Reason = returnReason(bState)
		case b.str(fieldStatus) == "SUSPENDED":
			row.Reason = "suspended in PingID outside Terraform while in scope; re-activated"
			if c.after != nil && c.after.ReactivateSuspendedUsers != nil && *c.after.ReactivateSuspendedUsers {
				row.Reason += " (reactivate_suspended_users = true)"
			}
		default:
			row.Reason = "re-enabled"
		}
	case mapped:
		row.Action = ActionUpdate
		row.Reason = "changed in the directory"
	case len(changes) > 0 || bState != aState:
		row.Action = ActionStateOnly
		row.Reason = c.bookkeepingReason(b, a, bState, aState, ae)
	}
	if fields := mappedFields(changes); fields != "" && row.Action != ActionUpdate {
		row.Reason += "; " + fields + " changed"
	} else if row.Action == ActionUpdate {
		row.Reason = fields + " changed in the directory"
	}
	if row.Action != "" {
		c.add(row)
	}
	c.deviceRows(user, state, diffDevices(b, a))
}

func (c *connReview) bookkeepingReason(b, a entry, bState, aState string, enabled bool) string {
	var parts []string
	switch {
	case bState == aState:
	case aState == "in_scope":
		parts = append(parts, returnReason(bState))
	default:
		r := removalReason(aState)
		udd := c.after == nil || c.after.UserDisableDelete == nil || *c.after.UserDisableDelete
		switch {
		case !udd:
			r += "; not deprovisioned: user_disable_delete = false"
		case enabled:
			r += "; not deprovisioned: a PingID ADMIN user is never changed"
		default:
			r += "; already disabled"
		}
		parts = append(parts, r)
	}
	if b.str(fieldDN) != a.str(fieldDN) {
		parts = append(parts, "DN changed")
	}
	if b.str(fieldStatus) != a.str(fieldStatus) {
		parts = append(parts, "PingID status recorded")
	}
	if len(parts) == 0 {
		return "recorded in state"
	}
	return strings.Join(parts, "; ")
}

func (c *connReview) deviceRows(user, state string, d deviceDiff) {
	if len(d.added) > 0 {
		c.add(Row{User: user, SourceState: state, Action: ActionDeviceAdd, Changes: d.added, Reason: "new device value from the directory: paired without verification"})
	}
	if len(d.changed) > 0 {
		c.add(Row{User: user, SourceState: state, Action: ActionDeviceChange, Changes: d.changed, Reason: "device value changed (in the directory, or edited in PingID: the directory wins); the old device is unpaired"})
	}
	if len(d.removed) > 0 {
		reason := "device value removed from the directory: the device is unpaired"
		if slices.ContainsFunc(d.removed, func(ch Change) bool { return ch.Field == fieldOtherDevices }) {
			reason = "unpaired: manage_devices = \"overwrite\" removes devices outside the managed slots, and removed directory values unpair theirs"
		}
		c.add(Row{User: user, SourceState: state, Action: ActionDeviceRemove, Changes: d.removed, Reason: reason})
	}
}

// destroy reviews a planned destroy of the connection.
func (c *connReview) destroy() {
	v := c.before
	if v == nil {
		return
	}
	onDestroy := "retain"
	if v.OnDestroy != nil {
		onDestroy = *v.OnDestroy
	}
	if onDestroy != "deprovision" {
		c.res.Notes = append(c.res.Notes, fmt.Sprintf("Destroyed with on_destroy = %q: its %d %s in PingID untouched.", onDestroy, len(v.Users), plural(len(v.Users), "user stays", "users stay")))
		return
	}
	remove := "disable"
	if v.RemoveUserAction != nil {
		remove = *v.RemoveUserAction
	}
	for user, value := range v.Users {
		e, err := parseEntry(value)
		if err != nil {
			continue
		}
		reason := fmt.Sprintf("connection destroyed with on_destroy = \"deprovision\", remove_user_action = %q", remove)
		if remove == "delete" {
			c.add(Row{User: user, Action: ActionDelete, Deprovision: true, SourceState: e.str(fieldSourceState), Reason: reason})
			continue
		}
		if en, _ := e.enabled(); en {
			c.add(Row{User: user, Action: ActionDisable, Deprovision: true, SourceState: e.str(fieldSourceState), Reason: reason,
				Changes: []Change{{Field: fieldEnabled, Old: sp("true"), New: sp("false")}}})
		}
	}
	c.res.Notes = append(c.res.Notes, "Destroyed with on_destroy = \"deprovision\": PingID ADMIN users are skipped at apply; the plan cannot show which users are administrators.")
}

// defaultMaxDeprovisionsPercent is pingid_provisioning_connection's max_deprovisions_percent
// when the configuration leaves it unset.
const defaultMaxDeprovisionsPercent = 20

// brakes records the connection's deprovisioning limits from its settings (v: after, or
// before for a destroy). Planned is filled in once all rows are known.
func (c *connReview) brakes(v *connectionValues) {
	if v == nil {
		return
	}
	if v.MaxDeprovisions != nil {
		n, err := v.MaxDeprovisions.Int64()
		if err == nil {
			c.res.Brakes = append(c.res.Brakes, Brake{Setting: "max_deprovisions", Value: v.MaxDeprovisions.String(), Unlimited: n < 0, Allowed: int(n), Basis: "users"})
		}
	}
	percent := v.MaxDeprovisionsPercent
	if percent == nil && v.MaxDeprovisions != nil {
		// Unset is the provider's default share, which the plan JSON does not spell out (a plan
		// written before the setting existed has no max_deprovisions either, and gets no brake).
		defaultPercent := json.Number(strconv.Itoa(defaultMaxDeprovisionsPercent))
		percent = &defaultPercent
	}
	if percent != nil {
		pct, err := percent.Float64()
		if err == nil {
			// Allowed and Basis follow once the links are counted (percentBrake).
			c.res.Brakes = append(c.res.Brakes, Brake{Setting: "max_deprovisions_percent", Value: percent.String(), Unlimited: pct < 0, percent: pct})
		}
	}
}

// percentBrake completes the max_deprovisions_percent brake the way the provider applies it:
// the share of the users the connection manages (before the plan, plus the users it links),
// rounded down, but at least one user for any positive share, so a single leaver never stops a
// small tenant; 0 allows none.
func percentBrake(b *Brake, res *Resource) {
	managed := res.Managed
	if res.PlanAction != "delete" {
		managed += res.Counts[ActionLink]
	}
	switch {
	case b.percent == 0:
		b.Allowed = 0
	case b.percent > 0:
		b.Allowed = max(int(math.Floor(b.percent*float64(managed)/100+1e-9)), 1)
	}
	b.Basis = fmt.Sprintf("%s %% of %d managed", b.Value, managed)
}

func mappedFields(changes []Change) string {
	var names []string
	for _, ch := range changes {
		switch ch.Field {
		case fieldEnabled, fieldDN, fieldStatus:
		default:
			names = append(names, ch.Field)
		}
	}
	return strings.Join(names, ", ")
}

// removalReason says why a user in a removal state is deprovisioned (as internal/reconcile says it).
func removalReason(state string) string {
	switch state {
	case "disabled":
		return "disabled in directory"
	case "out_of_scope":
		return "left group/filter"
	case "deleted":
		return "deleted from directory"
	}
	return "removed"
}

// returnReason says why a user is back, by the state it comes from.
func returnReason(from string) string {
	switch from {
	case "disabled":
		return "re-enabled in directory"
	case "out_of_scope":
		return "back in group/filter"
	case "deleted":
		return "back in directory and in scope"
	}
	return "back in scope"
}

// mappedUserHidden are attributes of pingid_mapped_user that say nothing about the user's
// access in PingID (the row names the user; status and role are observations).
var mappedUserHidden = map[string]bool{"id": true, "username": true, "status": true, "role": true, "remove_user_action": true, "allow_admin": true}

// mappedUser reviews one pingid_mapped_user instance change.
func (b *builder) mappedUser(rc *resourceChange) error {
	before, err := decodeObject(rc.Change.Before)
	if err != nil {
		return inputErrorf("%s: before value is not an object: %v", rc.Address, err)
	}
	after, err := decodeObject(rc.Change.After)
	if err != nil {
		return inputErrorf("%s: after value is not an object: %v", rc.Address, err)
	}
	base := baseAddress(rc)
	res := b.resource(base, TypeMappedUser, base)
	action := planAction(rc.Change.Actions)
	if res.instanceActions == nil {
		res.instanceActions = map[string]int{}
	}
	res.instanceActions[action]++
	username := func(v map[string]any) string {
		if s, ok := v["username"].(string); ok && s != "" {
			return s
		}
		if k := indexKey(rc); k != "" {
			return k
		}
		return rc.Address
	}
	unknown := unknownAttrs(rc.Change.AfterUnknown)
	add := func(row Row) {
		row.Resource, row.Connection = base, base
		b.rows = append(b.rows, row)
	}
	created := func() {
		b.mappedCreates++
		// A create shows what it sets: unset (null) attributes, such as the device settings of
		// a resource without devices, say nothing.
		set := map[string]any{}
		for k, v := range visible(after, unknown) {
			if v != nil {
				set[k] = v
			}
		}
		changes := attributeChanges(nil, set, mappedUserHidden)
		changes = append(changes, diffDevices(nil, after).added...)
		add(Row{User: username(after), Action: ActionCreate, NewUser: true, Changes: changes,
			Reason: "new pingid_mapped_user: creates the PingID user, or links the existing one of that name"})
	}
	removed := func(why string) {
		remove, _ := before["remove_user_action"].(string)
		if remove == "" {
			remove = "disable"
		}
		reason := fmt.Sprintf("%s; remove_user_action = %q", why, remove)
		if remove == "delete" {
			add(Row{User: username(before), Action: ActionDelete, Deprovision: true, Reason: reason})
			return
		}
		if en, _ := before["enabled"].(bool); en {
			add(Row{User: username(before), Action: ActionDisable, Deprovision: true, Reason: reason,
				Changes: []Change{{Field: fieldEnabled, Old: sp("true"), New: sp("false")}}})
		}
	}
	switch action {
	case "create":
		created()
	case "delete":
		removed("resource destroyed (removed from the configuration, e.g. no longer in the for_each group, or terraform destroy)")
	case "replace":
		removed("replaced: username changed")
		created()
	case "update":
		// A value known only after apply is compared as unchanged and listed as such: it must
		// neither hide a change nor look like a removal (an unknown other_devices is not "none").
		av := visible(after, unknown)
		for k := range unknown {
			if v, ok := before[k]; ok {
				av[k] = v
			}
		}
		changes := attributeChanges(before, av, mappedUserHidden)
		for _, k := range sortedKeys(unknown) {
			if !mappedUserHidden[k] {
				c := Change{Field: k, New: sp("(known after apply)")}
				if v, ok := before[k]; ok {
					c.Old = sp(display(v))
				}
				changes = append(changes, c)
			}
		}
		be, _ := before["enabled"].(bool)
		ae, aeKnown := av["enabled"].(bool)
		row := Row{User: username(after), Changes: changes}
		switch {
		case aeKnown && be && !ae:
			row.Action, row.Deprovision, row.Reason = ActionDisable, true, "enabled = false in the configuration (e.g. disabled in the directory)"
		case aeKnown && !be && ae:
			row.Action, row.Reason = ActionEnable, "enabled = true in the configuration"
			if s, _ := before["status"].(string); s == "SUSPENDED" {
				row.Reason += "; suspended in PingID, re-activated"
			}
		case len(changes) > 0:
			row.Action, row.Reason = ActionUpdate, mappedFields(changes)+" changed in the configuration"
		}
		if f := mappedFields(changes); f != "" && row.Action != ActionUpdate && row.Action != "" {
			row.Reason += "; " + f + " changed"
		}
		if row.Action != "" {
			add(row)
		}
		d := diffDevices(before, av)
		if len(d.added) > 0 {
			add(Row{User: row.User, Action: ActionDeviceAdd, Changes: d.added, Reason: "device added in the configuration: paired without verification"})
		}
		if len(d.changed) > 0 {
			add(Row{User: row.User, Action: ActionDeviceChange, Changes: d.changed, Reason: "device value changed: the old device is unpaired"})
		}
		if len(d.removed) > 0 {
			add(Row{User: row.User, Action: ActionDeviceRemove, Changes: d.removed, Reason: "device removed from the configuration: unpaired"})
		}
	}
	return nil
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
