import { describe, expect, it } from "vitest";
import { createOpenStreamLimits } from "./limit-open-streams";

describe("open stream limits", () => {
  it("refuses a client past its cap and the process past its total; a release frees the place once", () => {
    const limits = createOpenStreamLimits({ perClient: 2, total: 3 });
    const a1 = limits.acquire("a");
    const a2 = limits.acquire("a");
    expect(limits.acquire("a")).toBe("client-cap");
    const b1 = limits.acquire("b");
    expect(limits.acquire("c")).toBe("process-cap");
    expect([limits.count(), limits.count("a"), limits.count("b")]).toEqual([3, 2, 1]);
    if (typeof a1 === "string" || typeof a2 === "string" || typeof b1 === "string") throw new Error("refused");
    a1.release();
    a1.release(); // idempotent
    expect([limits.count(), limits.count("a")]).toEqual([2, 1]);
    expect(typeof limits.acquire("a")).toBe("object");
    expect(limits.acquire("c")).toBe("process-cap");
    a2.release();
    b1.release();
    expect(limits.count("b")).toBe(0);
  });
});
