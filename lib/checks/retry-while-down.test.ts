import { describe, expect, it } from "vitest";
import { isPermanentDatabaseError, retryWhileDown } from "./retry-while-down";

describe("isPermanentDatabaseError", () => {
  it.each([
    ["P2002", true, "a unique constraint: the data's fault"],
    ["P2025", true, "a missing row"],
    ["P2024", false, "no pool connection in time"],
    ["P2028", false, "a transaction that could not start in time (a busy pool)"],
    ["P2034", false, "a serialization conflict"],
    ["P1001", false, "the database is unreachable"],
  ])("%s → permanent: %s (%s)", (code, permanent) => {
    expect(isPermanentDatabaseError(Object.assign(new Error(code), { code }))).toBe(permanent);
  });
});

describe("retryWhileDown", () => {
  it("retries a transaction that could not get a connection in time, until it works", async () => {
    let calls = 0;
    const result = await retryWhileDown(
      async () => {
        if (++calls < 3) throw Object.assign(new Error("Transaction API error: Unable to start a transaction in the given time."), { code: "P2028" });
        return "stored";
      },
      { until: Date.now() + 10_000, minDelayMs: 1, maxDelayMs: 2 },
    );
    expect(result).toBe("stored");
    expect(calls).toBe(3);
  });
});
