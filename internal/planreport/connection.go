package planreport

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

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
