import { describe, expect, it } from "vitest";
import type { CaseResult } from "@/lib/probe/types";
import { countCases, describeCounts, groupCases, replyLine, type CaseCounts } from "./describe-cases";
import { reply, scenario, THIRD } from "./test-fixtures";

describe("countCases and describeCounts: one story for every view", () => {
  const table: { name: string; cases: CaseResult[]; counts: Partial<CaseCounts>; phrase: string }[] = [
    {
      name: "open relay",
      cases: scenario("postfix", { accept: ["plain-third-party", "null-sender"] }).cases,
      counts: { relay: 9, ran: 9, accepted: 2, evidence: 2, notEvidence: 0, refused: 7 },
      phrase: "2 of 9 relay attempts accepted (both prove relaying), 7 refused",
    },
    {
      name: "catch-all: the accepted tricks prove nothing",
      cases: scenario("exim", { catchAll: true, verdict: "inconclusive" }).cases,
      counts: { accepted: 4, evidence: 0, notEvidence: 4, refused: 5 },
      phrase: "4 of 9 relay attempts accepted, but they prove nothing (catch-all), 5 refused",
    },
    {
      name: "closed",
      cases: scenario("postfix").cases,
      counts: { accepted: 0, refused: 9 },
      phrase: "9 relay attempts: none accepted, 9 refused",
    },
    {
      name: "greylisting",
      cases: scenario("postfix", { tempfail: { ids: ["plain-third-party", "null-sender"], reply: reply(450, "4.7.1", "Greylisted") } }).cases,
      counts: { tempfail: 2, refused: 7 },
      phrase: "9 relay attempts: none accepted, 7 refused, 2 deferred (temporary failure)",
    },
  ];
  it.each(table)("$name", ({ cases, counts, phrase }) => {
    const k = countCases(cases);
    expect(k).toMatchObject(counts);
    expect(k.accepted).toBe(k.evidence + k.notEvidence);
    expect(describeCounts(k)).toBe(phrase);
  });
});

describe("groupCases", () => {
  it("groups identical replies once the echoed address is cut out, most telling group first", () => {
    const groups = groupCases(scenario("postfix", { accept: ["plain-third-party"] }).cases);
    expect(groups.map((g) => [g.result, g.cases.length, g.reply && replyLine(g.reply)])).toEqual([
      ["relayed", 1, "250 2.1.5 Ok"],
      ["refused", 8, "554 5.7.1 Relay access denied"],
      ["baseline-accepted", 1, "250 2.1.5 Ok"],
      ["baseline-refused", 1, "550 5.1.1 Recipient address rejected: User unknown in local recipient table"],
    ]);
  });

  it("keeps an address inside the sentence as <address>, and different replies apart", () => {
    const cases = scenario("postfix").cases.filter((c) => c.group !== "baseline");
    cases[0] = { ...cases[0]!, reply: reply(550, "5.7.1", `relaying to <${cases[0]!.rcptTo}> is not allowed`) };
    const groups = groupCases(cases);
    expect(groups).toHaveLength(2);
    expect(groups.map((g) => g.reply!.text)).toContain("relaying to <address> is not allowed");
  });

  it("tells accepts that prove nothing apart from relaying", () => {
    const groups = groupCases(scenario("exim", { catchAll: true, verdict: "inconclusive" }).cases);
    expect(groups[0]!.result).toBe("not-evidence");
    expect(groups.some((g) => g.result === "relayed")).toBe(false);
  });

  it("cuts a long reply to one short line", () => {
    expect(replyLine({ code: 554, enhanced: null, text: `${"x".repeat(200)}\nsecond line` }, 20)).toBe(`554 ${"x".repeat(19)}…`);
    expect(replyLine({ code: 250, enhanced: "2.1.5", text: `<relaytest@${THIRD}>  ok` })).toBe(`250 2.1.5 <relaytest@${THIRD}> ok`);
  });
});
