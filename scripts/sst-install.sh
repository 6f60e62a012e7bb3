#!/usr/bin/env bash
# Generates SST's platform and its types (.sst/platform/, read by sst.config.ts and infra/sst.ts
# through `/// <reference path=".sst/platform/config.d.ts" />`) without the internet: only the npm
# registry is needed. Run after `npm ci`; safe to run again (a warm rerun takes under a second).
# Quiet on success; on failure prints SST's log and exits non-zero.
#
# Why each setting (sst 3.18.10; check again when upgrading sst):
# - SST_SKIP_DEPENDENCY_CHECK=1: otherwise every command first downloads Pulumi and Bun from
#   GitHub. `sst install` itself never runs Pulumi: the AWS provider is an npm package
#   (@pulumi/aws, pinned by the platform, recorded in .sst/provider-lock.json); Pulumi's plugin
#   binary is only fetched by deploy/dev/diff, which need AWS anyway.
# - SST_TELEMETRY_DISABLED=1: no telemetry call home.
# - Bun: `sst install` runs `<bun> install` in .sst/platform (about 640 npm packages). sst 3.18.10
#   ignores SST_BUN_PATH (later versions read it) and looks for $XDG_CONFIG_HOME/sst/bin/bun, so
#   XDG_CONFIG_HOME points at a directory inside .sst/ holding a link to the npm-installed Bun
#   (@oven/bun-linux-x64, the version sst expects). SST_BUN_PATH is set too, for newer sst, and
#   may be set by the caller to use another Bun (e.g. on macOS or a CPU without AVX2).
#   The alternative, SST_NO_BUN=1, makes sst run `npm install` there instead: slower, same result.
# - The stage: without a terminal sst refuses to guess one. The platform does not depend on it,
#   so SST_STAGE defaults to "typegen"; sst.config.ts's app() sees that name, nothing is created.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

sst="$root/node_modules/.bin/sst"
if [ ! -x "$sst" ]; then
  echo "sst-install: $sst is missing; run \`npm ci\` first" >&2
  exit 1
fi

if [ -n "${SST_BUN_PATH:-}" ]; then
  bun="$SST_BUN_PATH"
elif [ -x "$root/node_modules/@oven/bun-linux-x64/bin/bun" ]; then
  bun="$root/node_modules/@oven/bun-linux-x64/bin/bun"
else
  bun=$(command -v bun || true)
fi
if [ -z "$bun" ] || ! "$bun" --version >/dev/null 2>&1; then
  echo "sst-install: no working Bun at '${bun:-}' (tried \$SST_BUN_PATH, node_modules/@oven/bun-linux-x64," \
    "then PATH); run \`npm ci\` on linux-x64 (with AVX2) or set SST_BUN_PATH to a Bun binary" >&2
  exit 1
fi

config_home="$root/.sst/cli-config"
mkdir -p "$config_home/sst/bin"
ln -sfn "$bun" "$config_home/sst/bin/bun"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! XDG_CONFIG_HOME="$config_home" \
  SST_BUN_PATH="$bun" \
  SST_SKIP_DEPENDENCY_CHECK=1 \
  SST_TELEMETRY_DISABLED=1 \
  SST_STAGE="${SST_STAGE:-typegen}" \
  "$sst" install --print-logs </dev/null >"$log" 2>&1; then
  echo "sst-install: \`sst install\` failed; its output:" >&2
  cat "$log" >&2
  exit 1
fi

if [ ! -f "$root/.sst/platform/config.d.ts" ]; then
  echo "sst-install: \`sst install\` succeeded but wrote no .sst/platform/config.d.ts; its output:" >&2
  cat "$log" >&2
  exit 1
fi
