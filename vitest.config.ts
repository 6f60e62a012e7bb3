import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Emulators (a JVM for DynamoDB Local) take seconds to start; hooks get room for that.
    hookTimeout: 60_000,
    testTimeout: 30_000,
    // Two cores: files run two at a time, each starting its own emulators on free ports.
    maxWorkers: 2,
    pool: "forks",
    // See local/main.ts: the SDK's notice about its 2027 releases needing Node 22.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
