package reconcile

import (
	"fmt"
	"math"
	"strings"
)

// Deprovisioning brakes, as the settings that set them are named.
const (
	BrakeCount   = "max_deprovisions"
	BrakePercent = "max_deprovisions_percent"
)

// ThresholdError is returned (with the full Result) when more users would be deprovisioned
// than Options.MaxDeprovisions or Options.MaxDeprovisionsPercent allows.
type ThresholdError struct {
	// Brake is the setting that stops the plan (BrakeCount when both do).
	Brake string
	// Max is max_deprovisions; Percent is max_deprovisions_percent, Managed the number of users
	// it is a share of and Allowed the number of users that share allows.
	Max              int
	Percent          float64
	Managed, Allowed int
	// Both reports that each brake alone would stop the plan.
	Both  bool
	Users []Action // every deprovisioning action, sorted by username
}

// maxListedUsers bounds the user list in ThresholdError.Error.
const maxListedUsers = 50

func (e *ThresholdError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s would be deprovisioned (disabled or deleted), ", len(e.Users), usersWord(len(e.Users)))
	countPart := fmt.Sprintf("more than max_deprovisions = %d", e.Max)
	percentPart := fmt.Sprintf("more than max_deprovisions_percent = %s of the %d %s this connection manages (at most %d)",
		formatPercent(e.Percent), e.Managed, usersWord(e.Managed), e.Allowed)
	switch {
	case e.Both:
		b.WriteString(countPart + ", and " + percentPart)
	case e.Brake == BrakePercent:
		b.WriteString(percentPart)
	default:
		b.WriteString(countPart)
	}
	b.WriteString(": ")
	for i, a := range e.Users {
		if i == maxListedUsers {
			fmt.Fprintf(&b, ", and %d more", len(e.Users)-maxListedUsers)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s)", a.Username, a.Reason)
	}
	b.WriteString(". To proceed: check that the source location (base_dn, group_dn, filter) and the " +
		"directory return the users you expect, then raise ")
	switch {
	case e.Both:
		b.WriteString("max_deprovisions and max_deprovisions_percent")
	default:
		b.WriteString(e.Brake)
	}
	b.WriteString(" for this run (-1 = unlimited)")
	return b.String()
}

func devicesWord(n int) string {
	if n == 1 {
		return "device"
	}
	return "devices"
}

// formatPercent writes a share as users write it: "20 %", "12.5 %".
func formatPercent(p float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", p), "0"), ".") + " %"
}

// AllowedDeprovisions is how many of managed users percent allows to deprovision in one plan,
// or -1 for a negative percent (no limit). The share is rounded down (20 % of 12 users is
// 2.4: 2 pass, 3 fail), but a positive share always allows one user, so a single leaver never
// stops a tenant of fewer than 1/percent users; 0 allows none.
func AllowedDeprovisions(percent float64, managed int) int {
	if percent < 0 {
		return -1
	}
	if percent == 0 {
		return 0
	}
	// The epsilon keeps exact shares exact (10 % of 30 is 3, not 2.9999999999999996).
	n := int(math.Floor(percent*float64(managed)/100 + 1e-9))
	return max(n, 1)
}

// checkBrakes returns the *ThresholdError for deprovisions (sorted by username) out of managed
// users, or nil when both brakes let them through.
func checkBrakes(deprovisions []Action, managed, maxCount int, percent float64) *ThresholdError {
	allowed := AllowedDeprovisions(percent, managed)
	overCount := maxCount >= 0 && len(deprovisions) > maxCount
	overPercent := allowed >= 0 && len(deprovisions) > allowed
	if !overCount && !overPercent {
		return nil
	}
	brake := BrakeCount
	if !overCount {
		brake = BrakePercent
	}
	return &ThresholdError{Brake: brake, Max: maxCount, Percent: percent, Managed: managed, Allowed: allowed,
		Both: overCount && overPercent, Users: deprovisions}
}

func usersWord(n int) string {
	if n == 1 {
		return "user"
	}
	return "users"
}
