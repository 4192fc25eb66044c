// Package conformance holds no code, only tests: round trips of the real PingID client
// (internal/pingid) against the real emulator (internal/emulator) over loopback HTTP, so the
// two cannot drift apart. It covers every operation and every error id, retries under injected
// faults (counted on both sides), lost responses, forged responses, skewed client clocks and
// consistency under many concurrent calls with random faults.
package conformance
