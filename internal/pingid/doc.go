// Package pingid is a client for the PingID API 4.9 user operations (adduser,
// getuserdetails, edituser, deleteuser, suspenduser, activateuser), the device operations
// (offlinepairing, updatedeviceattr, unpairdevice) and a parser for the pingid.properties file
// PingOne exports.
//
// Device ids are 64-bit integers beyond float64 precision: DeviceID keeps them digit for digit,
// and its zero value cannot be sent, so an unpairdevice without a deviceId (which unpairs every
// device of the user) cannot be built.
//
// Every request is a compact JWS signed HS256 with the decoded use_base64_key; every
// response must verify with the same key before it is believed. Every attempt holds a slot
// of the client's adaptive concurrency limit (internal/concurrency: one per client, so per
// provider configuration, shared by reads and writes), calls are retried with backoff on
// 429/5xx/network errors, and an adduser whose outcome is unknown is never resent before
// the user has been looked up.
package pingid
