// Command terraform-provider-pingid serves the PingID provider to Terraform.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	runtimedebug "runtime/debug"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/provider"
)

// version is set by goreleaser at build time (-X main.version=...).
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "set to true to run the provider with support for debuggers like delve")
	flag.Parse()

	// A soft memory limit keeps the provider's peak RSS near its live heap at directory scale
	// (at 50 000 users the GC's default headroom doubled it); GOMEMLIMIT still wins when set.
	if os.Getenv("GOMEMLIMIT") == "" {
		runtimedebug.SetMemoryLimit(256 << 20)
	}

	if !debug {
		if level, ok := frameworkLogLevel(os.Getenv); ok {
			_ = os.Setenv(frameworkLogEnv, level)
		}
	}

	opts := providerserver.ServeOpts{
		Address: "registry.terraform.io/pingid-provisioner/pingid",
		Debug:   debug,
	}
	log.SetFlags(0)
	if err := providerserver.Serve(context.Background(), provider.New(version), opts); err != nil {
		log.Fatal(err.Error())
	}
}

// frameworkLogEnv sets the level of terraform-plugin-framework's own log lines.
const frameworkLogEnv = "TF_LOG_SDK_FRAMEWORK"

// frameworkLogLevel returns the level for the framework's log lines when Terraform would drop
// the finer ones anyway (TF_LOG_PROVIDER, else TF_LOG, unset = no provider logs), and false to
// leave the framework's default (everything) alone: when the user set TF_LOG_SDK_FRAMEWORK,
// asked for TRACE or JSON, or gave a level this function does not know.
//
// Why: with its default level the framework (v1.19.0) builds a trace line for every element
// of every map it transforms, and each one looks up its logger through a context chain that
// grows by one link per element, which is O(N²) in the users map: at 50 000 users most of a
// no-change plan's provider CPU. Terraform discards those lines unless TF_LOG asks for them.
func frameworkLogLevel(getenv func(string) string) (string, bool) {
	if getenv(frameworkLogEnv) != "" {
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
