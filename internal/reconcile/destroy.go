package reconcile

import "sort"

// DestroyActions lists the users on_destroy = "deprovision" acts on when a connection is
// destroyed: every managed user for RemoveDelete, the ones not yet disabled otherwise, and the
// threshold error when they are more than maxDeprovisions or than maxPercent of the managed
// users allows (negative = unlimited; both brakes as in Plan). Users whose FoldUsername is in
// admins (the last refresh found them to be PingID administrators) are never touched.
func DestroyActions(prior map[string]Entry, admins map[string]bool, action RemoveAction, maxDeprovisions int, maxPercent float64) ([]Action, *ThresholdError) {
	var actions []Action
	for name, e := range prior {
		if admins[FoldUsername(name)] {
			continue
		}
		if action == RemoveDelete {
			actions = append(actions, Action{Username: name, Kind: KindDelete, Reason: "connection destroyed", Prior: &e})
		} else if e.Enabled {
			planned := e
			planned.Enabled = false
			planned.Status = StatusSuspended
			actions = append(actions, Action{Username: name, Kind: KindDisable, Reason: "connection destroyed", Prior: &e, Planned: &planned})
		}
	}
	sort.Slice(actions, func(i, j int) bool { return actions[i].Username < actions[j].Username })
	if te := checkBrakes(actions, len(prior), maxDeprovisions, maxPercent); te != nil {
		return actions, te
	}
	return actions, nil
}
