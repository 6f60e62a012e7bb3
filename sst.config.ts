/// <reference path="./.sst/platform/config.d.ts" />

// Everything deployed is declared in infra/manifest.ts; infra/sst.ts turns it into components.
// No top-level imports: SST evaluates app() before its globals exist, so run() imports lazily.
// Typechecked by infra/tsconfig.sst.json (after scripts/sst-install.sh), not by the root
// tsconfig: SST's platform sources and their Bun globals must stay out of the project's program.
export default $config({
  app(input) {
    return {
      name: "relais",
      home: "aws",
      // Production data (accounts, rosters, offline messages) must survive `sst remove`.
      removal: input?.stage === "production" ? "retain" : "remove",
      protect: input?.stage === "production",
    };
  },
  async run() {
    const { deploy, deploymentSettings } = await import("./infra/sst");
    // Passing sst.aws is also the type check that SST accepts every argument infra/ builds. Settings
    // (RELAIS_BASE_DOMAIN...) are those set in the environment `sst deploy` runs in.
    return deploy<$util.Output<string>>(sst.aws, sst.Secret, undefined, deploymentSettings(process.env));
  },
});
