import { describe, expect, it } from "vitest";
import type { ServerReport } from "@/lib/probe/types";
import { refusalReply, summarizeCheck, summarizeServer } from "./summarize-server";
import { reply, scenario, THIRD } from "./test-fixtures";

const unreachable = (over: Partial<ServerReport>) =>
  scenario("postfix", { verdict: "unreachable" }, { cases: [], banner: null, greetingCode: null, ehloName: null, extensions: [], transcript: [], ...over });

describe("summarizeServer: the verdict in words, no case ids", () => {
  const table: { name: string; server: ServerReport; text: RegExp }[] = [
    {
      name: "open relay",
      server: scenario("postfix", { accept: ["plain-third-party", "percent-hack-server-name"] }),
      text: new RegExp(`^It relays mail for anyone, e\\.g\\. RCPT TO:<relaytest@${THIRD.replace(".", "\\.")}> → 250 2\\.1\\.5 Ok\\. 2 of 9 relay attempts accepted \\(both prove relaying\\), 7 refused\\.$`),
    },
    {
      name: "tricks only",
      server: scenario("postfix", { accept: ["percent-hack-server-name", "bang-path-server-name", "null-sender"] }),
      text: /^It refuses plain relaying but relays for address tricks \(percent hack and bang path\) and forged senders \(empty sender\)\. 3 of 9 relay attempts accepted \(all 3 prove relaying\), 6 refused\.$/,
    },
    { name: "closed", server: scenario("postfix"), text: /^It refused all 9 relay attempts \(“554 5\.7\.1 Relay access denied”\)\.$/ },
    {
      name: "greylisting",
      server: scenario("postfix", { tempfail: { ids: ["plain-third-party"], reply: reply(450, "4.7.1", "Greylisted, try later") }, verdict: "inconclusive" }),
      text: /^It deferred 1 of 9 relay attempts with a temporary failure \(“450 4\.7\.1 Greylisted, try later”\): greylisting or a rate limit\. Check again in a few minutes\.$/,
    },
    {
      name: "catch-all",
      server: scenario("exim", { catchAll: true, verdict: "inconclusive" }),
      text: /accepted 4 address tricks at its own domain, where it takes any recipient \(catch-all\)/,
    },
    {
      name: "refused in the greeting",
      server: unreachable({ status: "greeting-rejected", statusDetail: "554 go away", transcript: [{ session: 1, t: 1, dir: "server", line: "554 5.7.1 go away" }] }),
      text: /^It refused our connection in its greeting: “554 5\.7\.1 go away”\. No relay test could be made\.$/,
    },
    { name: "connection refused", server: unreachable({ status: "refused" }), text: /^Nothing accepted a connection on port 25 of 192\.0\.2\.25 \(connection refused\)\.$/ },
    { name: "silent", server: unreachable({ status: "connect-timeout" }), text: /^No answer to the connection attempt/ },
  ];
  it.each(table)("$name", ({ server, text }) => {
    const s = summarizeServer(server);
    expect(s).toMatch(text);
    for (const c of server.cases) expect(s).not.toContain(c.id);
  });
});

describe("refusalReply", () => {
  it("takes a multi-line refusal whole, and never a 220 greeting", () => {
    const lines = ["554-5.7.1 mx.example.com blocked", "554 5.7.1 see https://bl.example.net"].map((line) => ({ session: 1, t: 1, dir: "server" as const, line }));
    expect(refusalReply({ status: "greeting-rejected", statusDetail: null, transcript: lines })).toBe("554 5.7.1 mx.example.com blocked 5.7.1 see https://bl.example.net");
    expect(refusalReply({ status: "greeting-rejected", statusDetail: "554 x", transcript: [{ session: 1, t: 1, dir: "server", line: "220 hello" }] })).toBe("554 x");
    expect(refusalReply({ status: "refused", statusDetail: "ECONNREFUSED", transcript: [] })).toBeNull();
  });
});

describe("summarizeCheck", () => {
  it("names how many servers relay and sums up the one that matters", () => {
    const open = scenario("postfix", { accept: ["plain-third-party"] }, { host: "mx1.example.com" });
    const closed = scenario("postfix", {}, { host: "mx2.example.com" });
    expect(summarizeCheck([closed, open], null)).toMatch(/^1 of 2 servers relay\. mx1\.example\.com: It relays mail for anyone/);
    expect(summarizeCheck([closed, { ...closed, host: "mx3.example.com" }], null)).toMatch(/^All 2 servers refused to relay\./);
    expect(summarizeCheck([], "No mail server found.")).toBe("No mail server found.");
  });
});
