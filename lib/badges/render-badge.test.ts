import { describe, expect, it } from "vitest";
import { badgeAnswerOf, renderBadge } from "./render-badge";

describe("renderBadge", () => {
  it.each([
    ["open-relay", "yes", "#c62828"],
    ["not-open-relay", "no", "#2e7d32"],
    ["inconclusive", "unknown", "#616161"],
    ["unreachable", "unknown", "#616161"],
    [null, "unknown", "#616161"],
  ] as const)("%s → %s", (verdict, answer, colour) => {
    expect(badgeAnswerOf(verdict)).toBe(answer);
    const svg = renderBadge({ verdict, checkedAt: "2026-12-03T14:05:09.123Z" });
    expect(svg).toContain(`<title>open relay: ${answer} · 2026-12-03 14:05 UTC</title>`);
    expect(svg).toContain(`fill="${colour}"`);
  });

  it("says only the answer when there is no check time", () => {
    expect(renderBadge({ verdict: null, checkedAt: null })).toContain("<title>open relay: unknown</title>");
  });

  it("is a plain SVG: no script, no link, nothing external", () => {
    const svg = renderBadge({ verdict: "open-relay", checkedAt: "2026-12-03T14:05:09.123Z" });
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="20" role="img"/);
    expect(svg).not.toMatch(/<script|href|<image|<foreignObject|url\(/i);
  });
});
