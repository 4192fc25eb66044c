package emulator

// The user-management operations and the user state machine (PingID API docs: User Management,
// userDetails and statuses).

// result is an operation's outcome: an error id (200 = ok) and the extra responseBody members.
// Inferred: once the envelope has verified, bad reqBody members (missing or over-long username,
// unknown role, wrong JSON types) are answered like business errors: a signed HTTP 400 with
// errorId 400 "Invalid input.".
type result struct {
	errorID int
	fields  map[string]any
}

func success(fields map[string]any) result { return result{errorID: errorIDOK, fields: fields} }
func failure(errorID int) result           { return result{errorID: errorID} }

// userNameArg reads and validates the username member of any operation.
func (b requestBody) userNameArg() (string, bool) {
	name, err := b.str("username")
	if err != nil || !validUserName(name) {
		return "", false
	}
	return name, true
}

// roleArg reads role. Inferred: an omitted role means REGULAR, for adduser (the documented
// default role) and for edituser, whose full-replace semantics set every omitted field to its
// null/default value — so an edit that forgets the role demotes an ADMIN, and clients must send it.
// Values are matched exactly (Java enum binding is case-sensitive).
func (b requestBody) roleArg() (string, bool) {
	role, err := b.str("role")
	if err != nil {
		return "", false
	}
	if role == "" {
		return RoleRegular, true
	}
	return role, validRole(role)
}

// deviceTypeArg validates the optional deviceType (DESKTOP | MOBILE) [V S2]; the emulator has no
// use for its value.
func (b requestBody) deviceTypeArg() bool {
	deviceType, err := b.str("devicetype")
	return err == nil && (deviceType == "" || deviceType == "DESKTOP" || deviceType == "MOBILE")
}

// profileArgs reads fname, lname and email (aliases fName, lName via case folding).
func (b requestBody) profileArgs() (first, last, email string, ok bool) {
	var errs [3]error
	first, errs[0] = b.str("fname")
	last, errs[1] = b.str("lname")
	email, errs[2] = b.str("email")
	for _, err := range errs {
		if err != nil {
			return "", "", "", false
		}
	}
	return first, last, email, true
}

// opAddUser: activateUser=false → NOT_ACTIVE [V S2 example]; true → PENDING_ACTIVATION with an
// activation code [V S3]; a taken username (case-insensitively) → 10556 [V S4].
func (s *Server) opAddUser(b requestBody) (result, error) {
	name, okName := b.userNameArg()
	role, okRole := b.roleArg()
	first, last, email, okProfile := b.profileArgs()
	activate, errActivate := b.boolean("activateuser")
	if !okName || !okRole || !okProfile || errActivate != nil || !b.deviceTypeArg() {
		return failure(errorIDInvalidInput), nil //nolint:nilerr // a malformed field is the API's "invalid input" answer, not a server error
	}

	s.mu.Lock()
	key := foldUserName(name)
	if _, exists := s.users[key]; exists {
		s.mu.Unlock()
		return failure(errorIDUserExists), nil
	}
	u := &User{
		UserName: name, FirstName: first, LastName: last, Email: email,
		Role: role, Status: StatusNotActive, CreatedAt: s.now().UTC(),
		ID: s.nextUserID,
	}
	s.nextUserID++
	fields := map[string]any{}
	if activate {
		u.Status = StatusPendingActivation
		u.ActivationCode = newActivationCode()
		fields["activationCode"] = u.ActivationCode
	}
	s.users[key] = u
	fields["userDetails"] = userDetails(u)
	s.changedLocked(key)
	s.mu.Unlock()
	return success(fields), s.persist()
}

// opGetUserDetails: the user, or 10564 [V S4, C2].
func (s *Server) opGetUserDetails(b requestBody) (result, error) {
	name, ok := b.userNameArg()
	if _, err := b.boolean("getsamedeviceusers"); err != nil || !ok {
		return failure(errorIDInvalidInput), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, exists := s.users[foldUserName(name)]
	if !exists {
		return failure(errorIDUserDoesNotExist), nil
	}
	// Inferred: devices are never shared between users here, so the list is always empty.
	return success(map[string]any{"userDetails": userDetails(u), "sameDeviceUsersDetails": []any{}}), nil
}

// opEditUser is a FULL replace [V S2: "Any fields that you do not include will be set to null"]:
// fname, lname and email take the request's values, omitted ones become null; see roleArg for
// the role. activateUser=true activates a NOT_ACTIVE user like activateuser does.
// Inferred: activateUser=true on any other status is ignored (no error, no new code).
func (s *Server) opEditUser(b requestBody) (result, error) {
	name, okName := b.userNameArg()
	role, okRole := b.roleArg()
	first, last, email, okProfile := b.profileArgs()
	activate, errActivate := b.boolean("activateuser")
	if !okName || !okRole || !okProfile || errActivate != nil || !b.deviceTypeArg() {
		return failure(errorIDInvalidInput), nil //nolint:nilerr // a malformed field is the API's "invalid input" answer, not a server error
	}

	s.mu.Lock()
	u, exists := s.users[foldUserName(name)]
	if !exists {
		s.mu.Unlock()
		return failure(errorIDUserDoesNotExist), nil
	}
	u.FirstName, u.LastName, u.Email, u.Role = first, last, email, role
	fields := map[string]any{}
	if activate && u.Status == StatusNotActive {
		u.Status = StatusPendingActivation
		u.ActivationCode = newActivationCode()
		fields["activationCode"] = u.ActivationCode
	}
	fields["userDetails"] = userDetails(u)
	s.changedLocked(foldUserName(name))
	s.mu.Unlock()
	return success(fields), s.persist()
}

// opDeleteUser removes the user; an unknown user → 10564.
// Inferred: the service reports a missing user here as it does for getuserdetails.
func (s *Server) opDeleteUser(b requestBody) (result, error) {
	name, ok := b.userNameArg()
	if !ok {
		return failure(errorIDInvalidInput), nil
	}
	s.mu.Lock()
	key := foldUserName(name)
	if _, exists := s.users[key]; !exists {
		s.mu.Unlock()
		return failure(errorIDUserDoesNotExist), nil
	}
	delete(s.users, key)
	s.changedLocked(key)
	s.mu.Unlock()
	return success(nil), s.persist()
}

// opSuspendUser: a user who has been activated (ACTIVE, PENDING, PENDING_ACTIVATION,
// PENDING_CHANGE_DEVICE) becomes SUSPENDED and the previous status is remembered; NOT_ACTIVE →
// 10561 [V: "The user is not active and cannot be suspended"].
// Inferred: only NOT_ACTIVE counts as "not active" (no public source says whether PENDING_ACTIVATION counts),
// and suspending a SUSPENDED user is a successful no-op.
func (s *Server) opSuspendUser(b requestBody) (result, error) {
	name, ok := b.userNameArg()
	if !ok {
		return failure(errorIDInvalidInput), nil
	}
	s.mu.Lock()
	u, exists := s.users[foldUserName(name)]
	switch {
	case !exists:
		s.mu.Unlock()
		return failure(errorIDUserDoesNotExist), nil
	case u.Status == StatusNotActive:
		s.mu.Unlock()
		return failure(errorIDCannotSuspend), nil
	case u.Status == StatusSuspended:
		s.mu.Unlock()
		return success(nil), nil
	}
	u.PreviousStatus = u.Status
	u.Status = StatusSuspended
	s.changedLocked(foldUserName(name))
	s.mu.Unlock()
	return success(nil), s.persist()
}

// opActivateUser: NOT_ACTIVE, PENDING, PENDING_ACTIVATION → PENDING_ACTIVATION with a new code
// [V that a code is returned for these]; ACTIVE → 10562 [V]; SUSPENDED → restored (see
// restoreAfterSuspension) [V "A suspended user can be reactivated by calling ActivateUser"].
// Inferred: PENDING_CHANGE_DEVICE is a successful no-op without a code (the docs return a code
// only for the three pending statuses).
func (s *Server) opActivateUser(b requestBody) (result, error) {
	name, ok := b.userNameArg()
	if !ok || !b.deviceTypeArg() {
		return failure(errorIDInvalidInput), nil
	}
	s.mu.Lock()
	u, exists := s.users[foldUserName(name)]
	if !exists {
		s.mu.Unlock()
		return failure(errorIDUserDoesNotExist), nil
	}
	needsCode := false
	switch u.Status {
	case StatusActive:
		s.mu.Unlock()
		return failure(errorIDAlreadyActive), nil
	case StatusPendingChangeDevice:
		s.mu.Unlock()
		return success(nil), nil
	case StatusNotActive, StatusPending, StatusPendingActivation:
		u.Status, needsCode = StatusPendingActivation, true
	case StatusSuspended:
		u.Status, needsCode = restoreAfterSuspension(u)
		u.PreviousStatus = ""
	}
	fields := map[string]any{}
	if needsCode {
		u.ActivationCode = newActivationCode()
		fields["activationCode"] = u.ActivationCode
	}
	s.changedLocked(foldUserName(name))
	s.mu.Unlock()
	return success(fields), s.persist()
}
