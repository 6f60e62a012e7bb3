import { describe, expect, it } from "vitest";
import { functions, queues, tables } from "../../infra/manifest";
import { loadHandler, localPlan } from "../../local/hub";

// The local runtime takes its functions, tables and queues from infra/manifest.ts, the same list
// infra/sst.ts deploys (test/infra/sst.test.ts checks that side).
describe("local runtime plan", () => {
  it("runs every declared function exactly once, by its trigger", () => {
    const plan = localPlan();
    const planned = [...plan.websocketRoutes, ...plan.http, ...plan.queueConsumers];
    expect(planned.map((f) => f.name).sort()).toEqual(functions.map((f) => f.name).sort());
    expect(plan.tables).toBe(tables);
    expect(plan.queues).toBe(queues);
  });

  it.each(functions.map((f) => [f.name, f] as const))("loads the handler of %s", async (_, def) => {
    expect(typeof (await loadHandler(def))).toBe("function");
  });
});
