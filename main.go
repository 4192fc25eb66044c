// Command terraform-provider-pingid serves the PingID provider to Terraform.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/provider"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/runtimeconfig"
)

// version is set by goreleaser at build time (-X main.version=...).
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "set to true to run the provider with support for debuggers like delve")
	flag.Parse()

	runtimeconfig.SetMemoryLimit()
	if !debug { // a debugging session reads the framework's log lines directly
		runtimeconfig.SetFrameworkLogLevel()
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
