// Package datastore reads the users a source location targets from an LDAP
// directory or Active Directory (go-ldap/v3).
//
// # All or nothing
//
// A read either returns the whole in-scope set or fails. Size, time and
// administrative limits, referrals (result code 10 and continuation
// references), a missing base or group DN, an unreachable server and any other
// non-success result are errors, never a shorter list: a shorter list would
// look like "these users left" to the reconcile step. Every search uses the paged
// results control (Config.PageSize); a server that ignores the control must
// still end the search with success for the result to count.
//
// # Page size limits
//
// A directory may refuse the page size for the bind account: OpenLDAP's
// size.pr answers adminLimitExceeded ("illegal pagedResults page size"), 389
// DS's nsslapd-pagedsizelimit / nsPagedSizeLimit ends a page of the limit or
// more with sizeLimitExceeded. When the first page of a search is refused
// that way, the whole read (Search, LookupUsers) starts again from scratch
// with smaller pages, down to PageSizeFloor; the size that worked is logged
// (Config.Log) and kept (Config.PageSizes) for the rest of the run. Only a
// refused floor fails the read, with ErrPageSizeRefused naming
// datastore.page_size. A limit hit on a later page is a total limit, not the
// page size: the read fails. Active Directory returns at most MaxPageSize
// entries per page without complaint, which paging handles as it is.
//
// Continuation references are errors, with one exception: with
// directory_type "active_directory", the references Active Directory returns
// for its configuration and DNS application partitions (CN=Configuration,
// DC=DomainDnsZones, DC=ForestDnsZones) when a search starts at the domain
// root are ignored, because those partitions hold no users. A reference to a
// child domain still fails the read (point base_dn at one domain, or at a
// global catalog).
//
// # Who is in scope
//
// Users are the non-group entries (a group has objectClass groupOfNames,
// groupOfUniqueNames, group or posixGroup) under base_dn (subtree) that match
// the query: members of group_dn, entries matching filter, or both.
//
// Active Directory: one paged search for (memberOf=<group>), or with nested
// groups the in-chain rule (memberOf:1.2.840.113556.1.4.1941:=<group>). The
// server must advertise Active Directory in its root DSE; elsewhere these
// filters can succeed while matching nothing. Users whose primary group is the
// group (primaryGroupID, e.g. Domain Users) are not in member/memberOf and are
// not returned.
//
// OpenLDAP and generic directories: the group's member and uniqueMember DNs
// (following Active Directory range retrieval if the server splits them) and
// memberUid names are read from the group entry. When a group level has many
// member DNs and the directory maintains the memberOf back-link (OpenLDAP's
// memberof overlay, 389 DS; checked on one member first), one paged subtree
// search for (memberOf=<group>) with the filter finds most of them; an entry
// it returns counts only if the group lists it. The remaining DNs are resolved
// in batches of one-level searches under each parent DN for (|(rdn1)(rdn2)...)
// combined with the filter, a few batches in flight; memberUid names with batched
// (|(uid=a)(uid=b)...) searches under base_dn. Member DNs that do not exist
// are skipped. Nested groups are expanded breadth-first with cycle detection,
// failing beyond MaxNestingDepth levels. All values go through
// ldap.EscapeFilter, attribute names are validated, and DNs are compared
// parsed and case-insensitively, so no username or DN can change a query.
//
// # Disabled accounts
//
//   - active_directory: userAccountControl bit 0x2 (ACCOUNTDISABLE). Lockout
//     and password expiry are separate and do not disable.
//   - openldap and generic: ppolicy pwdAccountLockedTime = 000001010000Z (an
//     administrator's permanent lock; any other timestamp is a temporary
//     intruder lockout and the account stays enabled), or nsAccountLock = true
//     (389 DS / Red Hat DS).
//   - any type: entries also matching Query.DisabledFilter, evaluated by the
//     server.
//
// # Identity and attributes
//
// Entry.ID is objectGUID (as the usual lowercase GUID string), else entryUUID,
// else nsUniqueId. Requested attributes are matched case-insensitively and
// return their first value. An in-scope entry without the username attribute,
// or two entries whose usernames differ only in case, fail the read with both
// DNs named.
//
// # Files
//
//   - config.go: Config, its validation and defaults, the directory types.
//   - directory.go: Open (dial, TLS, bind); paged searches and entry reads
//     bounded by a context; referrals; the Active Directory check.
//   - query.go: Query validated into a plan; filters and attribute names.
//   - search.go: Search and LookupUsers; collecting entries into the sorted,
//     duplicate-checked result.
//   - group.go: static group expansion outside Active Directory: member
//     lists, range retrieval, nested levels.
//   - memberof.go: the memberOf back-link shortcut for large group levels.
//   - resolve.go: member DNs and usernames resolved in batched OR-searches,
//     a few in flight on the shared connection.
//   - entry.go: Entry and its conversion from LDAP (ids, disabled markers,
//     attribute values).
//   - errors.go: Error and the sentinel errors callers match with errors.Is.
package datastore
