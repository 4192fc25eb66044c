// Command terraform-provider-pingid serves the PingID provider to Terraform.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	runtimedebug "runtime/debug"

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

	opts := providerserver.ServeOpts{
		Address: "registry.terraform.io/pingid-provisioner/pingid",
		Debug:   debug,
	}
	log.SetFlags(0)
	if err := providerserver.Serve(context.Background(), provider.New(version), opts); err != nil {
		log.Fatal(err.Error())
	}
}
