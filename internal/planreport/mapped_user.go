package planreport

import "fmt"

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
