/**
 * One factory per behaviour the engine must handle, over `startScriptedSmtp`. Each takes the
 * same options as the scripted server to override details (host, port, host name, ...).
 */
import { startScriptedSmtp, type ScriptedSmtpOptions } from "./scripted-smtp";
import type { FakeServer } from "./types";

type Overrides = Omit<ScriptedSmtpOptions, "policy">;

/** Accepts every sender and every recipient. */
export const startOpenRelay = (o: Overrides = {}): Promise<FakeServer> =>
  startScriptedSmtp({ hostname: "mx.open.test", domains: ["open.test"], ...o, policy: "open" });

/** Accepts known users at closed.test (and its own name and [ip]); 554 5.7.1 Relaying denied otherwise. */
export const startClosed = (o: Overrides = {}): Promise<FakeServer> =>
  startScriptedSmtp({ hostname: "mx.closed.test", domains: ["closed.test"], ...o, policy: "closed" });

/** Accepts any local part at catchall.test, its own name and [ip]; refuses third parties. */
export const startCatchAll = (o: Overrides = {}): Promise<FakeServer> =>
  startScriptedSmtp({ hostname: "mx.catchall.test", domains: ["catchall.test"], ...o, policy: "catch-all" });

/** Refuses the plain third-party form; accepts `%` hacks, bang paths and double-@ forms. */
export const startTrickVulnerable = (o: Overrides = {}): Promise<FakeServer> =>
  startScriptedSmtp({ hostname: "mx.tricky.test", domains: ["tricky.test"], ...o, policy: "trick-vulnerable" });

/**
 * 450 4.7.1 to every RCPT of a third party (or, with scope "all", to every RCPT); else closed (or
 * open). With `greylistDelayMs` a retry of the same pair after that delay passes.
 */
export const startGreylisting = (o: Overrides & { scope?: "third-party" | "all"; relay?: "open" | "closed" } = {}): Promise<FakeServer> => {
  const { scope = "third-party", relay = "closed", ...rest } = o;
  return startScriptedSmtp({ hostname: "mx.grey.test", domains: ["grey.test"], ...rest, greylist: scope, policy: relay });
};

/** Waits before the 220 (anti-spam greet pause); optionally a multi-line greeting. Closed. */
export const startDelayedGreeting = (o: Overrides & { delayMs: number; multiline?: boolean }): Promise<FakeServer> => {
  const { delayMs, multiline, ...rest } = o;
  return startScriptedSmtp({
    hostname: "mx.slow.test",
    domains: ["slow.test"],
    greeting: multiline ? ["mx.slow.test ESMTP relaycheck-fake", "Unsolicited bulk mail prohibited", "Please wait for the greeting"] : undefined,
    ...rest,
    greetingDelayMs: delayMs,
    policy: "closed",
  });
};

/** 530 5.7.0 "Must issue a STARTTLS command first" to MAIL/RCPT until TLS; then closed or open. */
export const startStartTlsRequired = (o: Overrides & { afterTls?: "open" | "closed" } = {}): Promise<FakeServer> => {
  const { afterTls = "closed", ...rest } = o;
  return startScriptedSmtp({ hostname: "mx.tls.test", domains: ["tls.test"], ...rest, starttls: "required", policy: afterTls });
};

/**
 * Exim-like: hangs up (421) after `hardLimit` (default 3) rejected commands, and refuses
 * IP-literal senders at MAIL with 501. Closed.
 */
export const startDropAfterErrors = (o: Overrides & { afterErrors?: number } = {}): Promise<FakeServer> => {
  const { afterErrors = 3, ...rest } = o;
  return startScriptedSmtp({
    hostname: "mx.exim.test",
    domains: ["exim.test"],
    greeting: ["mx.exim.test ESMTP Exim 4.96 relaycheck-fake"],
    rejectIpLiteralSenders: true,
    ...rest,
    errorLimits: { hardLimit: afterErrors },
    policy: "closed",
  });
};

/**
 * Postfix-like tarpit: from `softLimit` errors (10) every reply waits `sleepMs` (keep it small in
 * tests), and at `hardLimit` (20) it says 421 and hangs up. `log.tarpitted` counts slowed replies.
 */
export const startTarpit = (o: Overrides & { softLimit?: number; hardLimit?: number; sleepMs?: number } = {}): Promise<FakeServer> => {
  const { softLimit = 10, hardLimit = 20, sleepMs = 200, ...rest } = o;
  return startScriptedSmtp({ hostname: "mx.tarpit.test", domains: ["tarpit.test"], ...rest, errorLimits: { softLimit, hardLimit, sleepMs }, policy: "closed" });
};

/** Answers EHLO with 502 5.5.1; HELO works. Closed (or open). */
export const startHeloOnly = (o: Overrides & { relay?: "open" | "closed" } = {}): Promise<FakeServer> => {
  const { relay = "closed", ...rest } = o;
  return startScriptedSmtp({ hostname: "mx.helo.test", domains: ["helo.test"], ...rest, ehlo: "reject", policy: relay });
};

/** Per-client connection cap of 1: a second concurrent connection gets 421 and is closed. Closed. */
export const startSingleConnection = (o: Overrides = {}): Promise<FakeServer> =>
  startScriptedSmtp({ hostname: "mx.single.test", domains: ["single.test"], ...o, maxConnections: 1, policy: "closed" });

/** A closed server whose banner carries markup: reports must keep it as text. */
export const SCRIPT_BANNER = "mx.xss.test ESMTP <script>alert(1)</script>";
export const startScriptBanner = (o: Overrides = {}): Promise<FakeServer> =>
  startScriptedSmtp({ hostname: "mx.xss.test", domains: ["xss.test"], greeting: [SCRIPT_BANNER], ...o, policy: "closed" });
