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
  },
});
