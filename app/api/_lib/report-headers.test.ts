import { describe, expect, it } from "vitest";
import { acceptsGzip, matchesEtag } from "./report-headers";

describe("acceptsGzip", () => {
  it.each([
    [null, false],
    ["", false],
    ["gzip", true],
    ["gzip, deflate, br", true],
    ["br;q=1.0, GZIP;q=0.5", true],
    ["gzip;q=0", false],
    ["gzip;q=0.0, br", false],
    ["*", true],
    ["*;q=0", false],
    ["identity", false],
    ["x-gzip", false],
  ])("%j → %s", (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });
});

describe("matchesEtag", () => {
  it.each([
    [null, false],
    ['"a"', true],
    ['"b", "a"', true],
    ['W/"a"', true],
    ["*", true],
    ['"b"', false],
  ])("%j → %s", (header, expected) => {
    expect(matchesEtag(header, '"a"')).toBe(expected);
  });
});
