// Package runtimeconfig is what the provider process sets up before it serves: a soft memory
// limit and the framework's log level. main.go and cmd/bench's profiling build both apply it,
// so profiles show the provider as shipped.
package runtimeconfig

import (
	"os"
	runtimedebug "runtime/debug"
	"strings"
)

// MemoryLimit is the soft memory limit: it keeps the provider's peak RSS near its live heap at
// directory scale (at 50 000 users the GC's default headroom doubled it).
const MemoryLimit = 256 << 20

// SetMemoryLimit applies MemoryLimit unless GOMEMLIMIT is set.
func SetMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		runtimedebug.SetMemoryLimit(MemoryLimit)
	}
}

// SetFrameworkLogLevel sets FrameworkLogEnv as FrameworkLogLevel decides.
func SetFrameworkLogLevel() {
	if level, ok := FrameworkLogLevel(os.Getenv); ok {
		_ = os.Setenv(FrameworkLogEnv, level)
	}
}

// FrameworkLogEnv sets the level of terraform-plugin-framework's own log lines.
const FrameworkLogEnv = "TF_LOG_SDK_FRAMEWORK"

// FrameworkLogLevel returns the level for the framework's log lines when Terraform would drop
// the finer ones anyway (TF_LOG_PROVIDER, else TF_LOG, unset = no provider logs), and false to
// leave the framework's default (everything) alone: when the user set TF_LOG_SDK_FRAMEWORK,
// asked for TRACE or JSON, or gave a level this function does not know.
//
// Why: with its default level the framework (v1.19.0) builds a trace line for every element
// of every map it transforms, and each one looks up its logger through a context chain that
// grows by one link per element, which is O(N²) in the users map: at 50 000 users most of a
// no-change plan's provider CPU. Terraform discards those lines unless TF_LOG asks for them.
func FrameworkLogLevel(getenv func(string) string) (string, bool) {
	if getenv(FrameworkLogEnv) != "" {
		return "", false
	}
	level := getenv("TF_LOG_PROVIDER")
	if level == "" {
		level = getenv("TF_LOG")
	}
	level = strings.ToLower(strings.TrimSpace(level))
	switch level {
	case "":
		return "off", true
	case "off", "error", "warn", "info", "debug":
		return level, true
	default: // TRACE, JSON (trace as JSON) and values Terraform treats as TRACE
		return "", false
	}
}
