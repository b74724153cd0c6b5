import { afterEach, describe, expect, it, vi } from "vitest";
import { MissingDependencyError, REQUIRE_ALL_TESTS_ENV, requireOrSkip } from "./require";

describe("requireOrSkip", () => {
  afterEach(() => vi.unstubAllEnvs());

  const ctx = () => ({ skip: vi.fn((note?: string) => { throw new Error(`skipped: ${note}`); }) as never });

  it("does nothing when the dependency is there", () => {
    const c = ctx();
    requireOrSkip(c, { ok: true });
    expect(c.skip).not.toHaveBeenCalled();
  });

  it("skips with the reason on a developer's machine", () => {
    vi.stubEnv(REQUIRE_ALL_TESTS_ENV, "");
    const c = ctx();
    expect(() => requireOrSkip(c, { ok: false, reason: "Postfix is not installed" })).toThrow("skipped: Postfix is not installed");
  });

  it("fails instead of skipping when RELAYCHECK_REQUIRE_ALL_TESTS=1", () => {
    vi.stubEnv(REQUIRE_ALL_TESTS_ENV, "1");
    const c = ctx();
    expect(() => requireOrSkip(c, "Postfix is not installed")).toThrow(MissingDependencyError);
    expect(c.skip).not.toHaveBeenCalled();
  });
});
