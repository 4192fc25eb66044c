package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The HTTP test hooks under /_emulator/ (JSON in and out), for shell scripts of the demo and the
// benchmarks. They mirror the Go methods and are not authenticated: loopback use only.
//
//	GET    /_emulator/users                 all users (sorted)
//	POST   /_emulator/users                 seed one user (object) or several (array)
//	GET    /_emulator/users/{name}          one user
//	DELETE /_emulator/users/{name}          delete out of band
//	POST   /_emulator/users/{name}/status   {"status":"SUSPENDED"}
//	POST   /_emulator/reset                 forget users, faults, counters
//	GET    /_emulator/faults                active faults
//	POST   /_emulator/faults                {"op":"adduser","rate_429":1,"retry_after_ms":0,"count":2,…}
//	DELETE /_emulator/faults                clear faults
//	GET    /_emulator/limits                limits in force and what they did: {"limits":{…},"stats":{…}}
//	POST   /_emulator/limits                {"latency_ms":100,"rate_per_second":500,"burst":50,"queue_after":0}
//	GET    /_emulator/calls                 {"adduser":3,…}
//	DELETE /_emulator/calls                 zero the counters
//	GET    /_emulator/properties            pingid.properties for this host (contains secrets)
//	GET    /_emulator/settings              {"max_allowed_devices":1}
//	POST   /_emulator/settings              {"max_allowed_devices":5} (the org's Maximum Allowed Devices)

// Settings are the organization settings the hooks read and change.
type Settings struct {
	MaxAllowedDevices int `json:"max_allowed_devices"`
}

// FaultSpec is the JSON form of a Fault for the HTTP hooks (durations in milliseconds).
type FaultSpec struct {
	Op                   string  `json:"op"`
	LatencyMS            int64   `json:"latency_ms,omitempty"`
	Rate429              float64 `json:"rate_429,omitempty"`
	RetryAfterMS         int64   `json:"retry_after_ms,omitempty"`
	Rate500              float64 `json:"rate_500,omitempty"`
	Rate503              float64 `json:"rate_503,omitempty"`
	DropRate             float64 `json:"drop_rate,omitempty"`
	DropAfterProcessRate float64 `json:"drop_after_process_rate,omitempty"`
	BadSignatureRate     float64 `json:"bad_signature_rate,omitempty"`
	Count                int     `json:"count,omitempty"`
}

// Fault converts the spec.
func (f FaultSpec) Fault() Fault {
	return Fault{
		Latency:              time.Duration(f.LatencyMS) * time.Millisecond,
		Rate429:              f.Rate429,
		RetryAfter:           time.Duration(f.RetryAfterMS) * time.Millisecond,
		Rate500:              f.Rate500,
		Rate503:              f.Rate503,
		DropRate:             f.DropRate,
		DropAfterProcessRate: f.DropAfterProcessRate,
		BadSignatureRate:     f.BadSignatureRate,
		Count:                f.Count,
	}
}

func faultSpec(op string, f Fault) FaultSpec {
	return FaultSpec{
		Op:                   op,
		LatencyMS:            f.Latency.Milliseconds(),
		Rate429:              f.Rate429,
		RetryAfterMS:         f.RetryAfter.Milliseconds(),
		Rate500:              f.Rate500,
		Rate503:              f.Rate503,
		DropRate:             f.DropRate,
		DropAfterProcessRate: f.DropAfterProcessRate,
		BadSignatureRate:     f.BadSignatureRate,
		Count:                f.Count,
	}
}

// LimitsSpec is the JSON form of Limits for the HTTP hooks.
type LimitsSpec struct {
	LatencyMS     float64 `json:"latency_ms"`
	RatePerSecond float64 `json:"rate_per_second"`
	Burst         int     `json:"burst"`
	QueueAfter    int     `json:"queue_after"`
}

// Limits converts the spec.
func (l LimitsSpec) Limits() Limits {
	return Limits{
		Latency: time.Duration(l.LatencyMS * float64(time.Millisecond)), RatePerSecond: l.RatePerSecond,
		Burst: l.Burst, QueueAfter: l.QueueAfter,
	}
}

func limitsSpec(l Limits) LimitsSpec {
	return LimitsSpec{
		LatencyMS: float64(l.Latency) / float64(time.Millisecond), RatePerSecond: l.RatePerSecond,
		Burst: l.Burst, QueueAfter: l.QueueAfter,
	}
}

const maxHookBodyBytes = 64 << 20 // large seeds for benchmarks

func (s *Server) newHookMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_emulator/users", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Users())
	})
	mux.HandleFunc("POST /_emulator/users", s.hookSeedUsers)
	mux.HandleFunc("GET /_emulator/users/{name}", func(w http.ResponseWriter, r *http.Request) {
		u, ok := s.User(r.PathValue("name"))
		if !ok {
			writeHookError(w, http.StatusNotFound, ErrUserNotFound)
			return
		}
		writeJSON(w, http.StatusOK, u)
	})
	mux.HandleFunc("DELETE /_emulator/users/{name}", func(w http.ResponseWriter, r *http.Request) {
		if !s.DeleteUserDirect(r.PathValue("name")) {
			writeHookError(w, http.StatusNotFound, ErrUserNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_emulator/users/{name}/status", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Status string `json:"status"`
		}
		if err := decodeHookBody(r, &req); err != nil {
			writeHookError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.SetUserStatus(r.PathValue("name"), req.Status); err != nil {
			writeHookError(w, hookStatus(err), err)
			return
		}
		u, _ := s.User(r.PathValue("name"))
		writeJSON(w, http.StatusOK, u)
	})
	mux.HandleFunc("POST /_emulator/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		specs := []FaultSpec{}
		for op, f := range s.Faults() {
			specs = append(specs, faultSpec(op, f))
		}
		writeJSON(w, http.StatusOK, specs)
	})
	mux.HandleFunc("POST /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		var spec FaultSpec
		if err := decodeHookBody(r, &spec); err != nil {
			writeHookError(w, http.StatusBadRequest, err)
			return
		}
		if op := normalizeFaultOp(spec.Op); op != "*" && !knownOp(op) {
			writeHookError(w, http.StatusBadRequest, fmt.Errorf("unknown operation %q", spec.Op))
			return
		}
		s.SetFault(spec.Op, spec.Fault())
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_emulator/limits", func(w http.ResponseWriter, r *http.Request) {
		st := s.LimitStats()
		writeJSON(w, http.StatusOK, map[string]any{"limits": limitsSpec(s.Limits()), "stats": map[string]any{
			"in_flight": st.InFlight, "peak_in_flight": st.PeakInFlight, "throttled": st.Throttled, "admitted": st.Admitted,
		}})
	})
	mux.HandleFunc("POST /_emulator/limits", func(w http.ResponseWriter, r *http.Request) {
		var spec LimitsSpec
		if err := decodeHookBody(r, &spec); err != nil {
			writeHookError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.SetLimits(spec.Limits()); err != nil {
			writeHookError(w, http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_emulator/calls", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Calls())
	})
	mux.HandleFunc("DELETE /_emulator/calls", func(w http.ResponseWriter, r *http.Request) {
		s.ResetCalls()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_emulator/settings", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, Settings{MaxAllowedDevices: s.MaxAllowedDevices()})
	})
	mux.HandleFunc("POST /_emulator/settings", func(w http.ResponseWriter, r *http.Request) {
		var req Settings
		if err := decodeHookBody(r, &req); err != nil {
			writeHookError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.SetMaxAllowedDevices(req.MaxAllowedDevices); err != nil {
			writeHookError(w, hookStatus(err), err)
			return
		}
		writeJSON(w, http.StatusOK, Settings{MaxAllowedDevices: s.MaxAllowedDevices()})
	})
	mux.HandleFunc("GET /_emulator/properties", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, s.PropertiesFile("http://"+r.Host+"/pingid"))
	})
	return mux
}

func (s *Server) hookSeedUsers(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxHookBodyBytes))
	if err != nil {
		writeHookError(w, http.StatusBadRequest, fmt.Errorf("read body: %w", err))
		return
	}
	var users []User
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && trimmed[0] == '[' {
		err = strictUnmarshal(trimmed, &users)
	} else {
		var u User
		err = strictUnmarshal(trimmed, &u)
		users = []User{u}
	}
	if err != nil {
		writeHookError(w, http.StatusBadRequest, err)
		return
	}
	for _, u := range users {
		if err := s.SeedUser(u); err != nil {
			writeHookError(w, hookStatus(err), fmt.Errorf("%q: %w", u.UserName, err))
			return
		}
	}
	if len(users) == 1 {
		u, _ := s.User(users[0].UserName)
		writeJSON(w, http.StatusCreated, u)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int{"seeded": len(users)})
}

func hookStatus(err error) int {
	switch {
	case errors.Is(err, ErrUserExists):
		return http.StatusConflict
	case errors.Is(err, ErrUserNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrInvalidUser), errors.Is(err, ErrInvalidSetting):
		return http.StatusBadRequest
	default:
		return http.StatusInternalServerError
	}
}

// strictUnmarshal rejects unknown members so a typo in a script fails loudly.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode JSON: %w", err)
	}
	return nil
}

func decodeHookBody(r *http.Request, v any) error {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxHookBodyBytes))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	return strictUnmarshal(raw, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "encode JSON", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

func writeHookError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
