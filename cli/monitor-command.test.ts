import { describe, expect, it } from "vitest";
import { runMonitorCommand } from "./monitor-command";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) }, out, err };
}

describe("relaycheck monitor (without a service)", () => {
  it.each([
    [["--help"], {}, 0, /Usage: relaycheck monitor add/],
    [[], {}, 3, /Usage: relaycheck monitor add/],
    [["list"], {}, 3, /set RELAYCHECK_API_KEY/],
    [["add"], { RELAYCHECK_API_KEY: "rk_x" }, 3, /monitor add takes one target/],
    [["add", "example.com", "--interval", "1.5"], { RELAYCHECK_API_KEY: "rk_x" }, 3, /--interval must be a whole number/],
    [["rm"], { RELAYCHECK_API_KEY: "rk_x" }, 3, /monitor rm takes one monitor id/],
    [["frobnicate"], { RELAYCHECK_API_KEY: "rk_x" }, 3, /unknown monitor command "frobnicate"/],
    [["list", "--bogus"], { RELAYCHECK_API_KEY: "rk_x" }, 3, /Unknown option '--bogus'/],
  ])("%j → exit %i", async (argv, env, code, text) => {
    const { io, out, err } = capture();
    expect(await runMonitorCommand(argv, env, io)).toBe(code);
    expect([...out, ...err].join("")).toMatch(text);
  });
});
