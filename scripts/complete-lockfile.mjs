// npm records no lockfile entry for an optional platform package its registry cannot serve (here:
// sst's darwin, win32 and other linux binaries), and `npm ci` then refuses the lockfile as out of
// sync. This adds the missing entries, marked optional with their os/cpu, so `npm ci` skips them on
// other platforms as it would with the full registry. Run it after `npm install` changes the lock:
//   node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from "node:fs";

const platforms = {
  "darwin-arm64": ["darwin", "arm64"],
  "darwin-x64": ["darwin", "x64"],
  "linux-arm64": ["linux", "arm64"],
  "linux-x64": ["linux", "x64"],
  "linux-x86": ["linux", "ia32"],
  "win32-arm64": ["win32", "arm64"],
  "win32-x64": ["win32", "x64"],
  "win32-x86": ["win32", "ia32"],
};

const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
const packages = lock.packages;
let added = 0;
for (const entry of Object.values(packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const target = `node_modules/${dep}`;
    if (packages[target]) continue;
    const suffix = Object.keys(platforms).find((p) => dep.endsWith(p));
    if (!suffix) continue; // not a platform binary: leave it to npm
    const [os, cpu] = platforms[suffix];
    packages[target] = { version, cpu: [cpu], dev: entry.dev === true, optional: true, os: [os] };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
writeFileSync("package-lock.json", `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: ${added} platform entries added`);
