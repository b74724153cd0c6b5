/**
 * Tests that need something a newcomer's machine may lack (Postfix, Chromium, ...) skip with the
 * reason there; in CI (`RELAYCHECK_REQUIRE_ALL_TESTS=1`) a missing dependency fails the test
 * instead, so nothing is silently skipped.
 *
 *   const postfix = postfixAvailable();
 *   it("...", (ctx) => { requireOrSkip(ctx, postfix); ... });
 *
 * `requireOrSkip` must be called inside a test (it needs the test context); a suite whose
 * `beforeAll` would start the dependency checks `.ok` there and starts nothing when it is false.
 */
import type { TestContext } from "vitest";

export interface DependencyCheck {
  ok: boolean;
  /** Why it is unavailable, for people ("postfix is not installed: apt-get install postfix"). */
  reason?: string;
}

export const REQUIRE_ALL_TESTS_ENV = "RELAYCHECK_REQUIRE_ALL_TESTS";

export function requireAllTests(): boolean {
  return process.env[REQUIRE_ALL_TESTS_ENV] === "1";
}

/** Thrown when a required dependency is missing and skips are not allowed. */
export class MissingDependencyError extends Error {
  override name = "MissingDependencyError";
}

/**
 * Does nothing when the dependency is there. Otherwise skips the running test with the reason,
 * or, when `RELAYCHECK_REQUIRE_ALL_TESTS=1`, fails it.
 */
export function requireOrSkip(ctx: Pick<TestContext, "skip">, dependency: DependencyCheck | string): void {
  const check: DependencyCheck = typeof dependency === "string" ? { ok: false, reason: dependency } : dependency;
  if (check.ok) return;
  const reason = check.reason ?? "a required dependency is missing";
  if (requireAllTests()) {
    throw new MissingDependencyError(`${reason} (${REQUIRE_ALL_TESTS_ENV}=1 forbids skipping)`);
  }
  ctx.skip(reason);
}
