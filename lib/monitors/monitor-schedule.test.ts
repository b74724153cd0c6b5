import { describe, expect, it } from "vitest";
import { backoffDelayMs, nextRunMs, nextSlotMs, scheduleOffsetMs } from "./monitor-schedule";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe("scheduleOffsetMs", () => {
  it.each([
    ["no jitter: the phase of the creation time", DAY, 5 * DAY + 7_000, 0, 7_000],
    ["the largest jitter of a daily monitor is 15 minutes before", DAY, 5 * DAY + 20 * 60_000, 0.999_999_9, 20 * 60_000 - (15 * 60_000 - 1)],
    ["an hourly monitor's jitter is at most 6 minutes", HOUR, 3 * HOUR, 0.5, HOUR - 3 * 60_000],
    ["a two-second test monitor's jitter is at most 200 ms", 2000, 10_000, 0.5, 1900],
    ["never 0 (BullMQ would run it at once)", 2000, 10_000, 0, 1],
  ])("%s", (_, interval, anchor, random, offset) => {
    expect(scheduleOffsetMs(interval, anchor, () => random)).toBe(offset);
  });

  it("puts the first scheduled run about one interval after creation, never before", () => {
    for (const random of [0, 0.3, 0.99]) {
      const created = 1_000_000_123;
      const offset = scheduleOffsetMs(HOUR, created, () => random);
      const first = nextSlotMs(HOUR, offset, created);
      expect(first).toBeGreaterThan(created + HOUR - 6 * 60_000 - 1);
      expect(first).toBeLessThanOrEqual(created + HOUR);
    }
  });
});

describe("backoffDelayMs", () => {
  it.each([
    [0, null],
    [1, null],
    [2, 2 * HOUR],
    [3, 4 * HOUR],
    [4, 8 * HOUR],
    [10, 8 * HOUR],
  ])("an hourly monitor after %i failures in a row waits %s", (failures, delay) => {
    expect(backoffDelayMs(HOUR, failures)).toBe(delay);
  });

  it("waits at most a week, and never less than one interval", () => {
    expect(backoffDelayMs(7 * DAY, 5)).toBe(7 * DAY);
    expect(backoffDelayMs(2 * DAY, 5)).toBe(7 * DAY);
    expect(backoffDelayMs(30 * DAY, 5)).toBe(30 * DAY);
  });
});

describe("nextRunMs", () => {
  it.each([
    ["the next slot", null, 10 * HOUR + 60_000],
    ["a back-off ending before the next slot changes nothing", 10 * HOUR, 10 * HOUR + 60_000],
    ["the first slot at or after the back-off's end", 12 * HOUR + 60_000, 12 * HOUR + 60_000],
    ["a back-off ending between slots waits for the next", 12 * HOUR + 120_000, 13 * HOUR + 60_000],
  ])("%s", (_, backoffUntil, next) => {
    expect(nextRunMs(HOUR, 60_000, 10 * HOUR, backoffUntil)).toBe(next);
  });
});
