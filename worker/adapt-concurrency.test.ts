import { describe, expect, it } from "vitest";
import { nextConcurrency } from "./adapt-concurrency";

const limits = { max: 200, min: 4, lagLimitMs: 300 };

describe("nextConcurrency", () => {
  it.each([
    [200, 10, 200, "an idle loop keeps the maximum"],
    [40, 10, 60, "a quiet loop grows by a tenth of the maximum"],
    [195, 0, 200, "never past the maximum"],
    [200, 400, 150, "a late loop cuts by a quarter"],
    [5, 1000, 4, "never below the minimum"],
    [100, 200, 100, "between half the limit and the limit: unchanged"],
  ])("from %i with p99 delay %i ms → %i (%s)", (current, lagMs, expected) => {
    expect(nextConcurrency(current, lagMs, limits)).toBe(expected);
  });

  it("keeps a maximum below the minimum", () => {
    expect(nextConcurrency(2, 1000, { max: 2, min: 4, lagLimitMs: 300 })).toBe(2);
    expect(nextConcurrency(1, 0, { max: 2, min: 4, lagLimitMs: 300 })).toBe(2);
  });

  it("settles back to the maximum after a burst", () => {
    let c = 200;
    for (let i = 0; i < 10; i++) c = nextConcurrency(c, 900, limits);
    expect(c).toBe(10);
    for (let i = 0; i < 10; i++) c = nextConcurrency(c, 0, limits);
    expect(c).toBe(200);
  });
});
