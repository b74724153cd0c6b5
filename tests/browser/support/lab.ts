/**
 * A small lab of mail servers a new user would meet, each on its own loopback address, port 25,
 * behind a local DNS zone so the targets are real domains with MX records:
 * - open.test: an open relay (accepts everything, STARTTLS offered);
 * - tricky.test: refuses plain relaying, falls for the address tricks (percent hack, bang path…);
 * - closed.test: refuses relaying with 554 5.7.1;
 * - grey.test: greylists every outside recipient (450 4.7.1);
 * - blocked.test: refuses us in its greeting (554 … blocked), then hangs up;
 * - gone.test: nothing listens (connection refused);
 * - slow.test: an open relay that takes its time over each recipient (to watch a check live);
 * - flip.test: closed until the test calls `lab.openFlip()`, an open relay from then on.
 * The addresses (127.0.11.x) are this lab's own, so other suites can run beside it.
 */
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { startClosed, startGreylisting, startOpenRelay, startTrickVulnerable } from "@/tests/fakes/presets";
import { startScriptedSmtp } from "@/tests/fakes/scripted-smtp";
import { startLineServer, verbOf } from "@/tests/fakes/line-server";
import type { FakeServer } from "@/tests/fakes/types";
import { startFakeSmtp } from "./fake-smtp";

export const LAB = {
  open: { domain: "open.test", mx: "mx.open.test", ip: "127.0.11.1" },
  tricks: { domain: "tricky.test", mx: "mx.tricky.test", ip: "127.0.11.2" },
  closed: { domain: "closed.test", mx: "mx.closed.test", ip: "127.0.11.3" },
  grey: { domain: "grey.test", mx: "mx.grey.test", ip: "127.0.11.4" },
  blocked: { domain: "blocked.test", mx: "mx.blocked.test", ip: "127.0.11.5" },
  gone: { domain: "gone.test", mx: "mx.gone.test", ip: "127.0.11.6" },
  slow: { domain: "slow.test", mx: "mx.slow.test", ip: "127.0.11.7" },
  flip: { domain: "flip.test", mx: "mx.flip.test", ip: "127.0.11.8" },
} as const;

export type LabState = keyof typeof LAB;

export const BLOCKED_GREETING = "554 5.7.1 mx.blocked.test ESMTP service not available: your network is listed at bl.example.net";

export interface Lab {
  dns: LocalDnsServer;
  /** DATA commands any fake received (must stay 0). */
  dataAttempts(): number;
  /** flip.test relays from now on. */
  openFlip(): void;
  close(): Promise<void>;
}

export async function startLab(): Promise<Lab> {
  const dns = await startDnsServer({
    mx: Object.fromEntries(Object.values(LAB).map((s) => [s.domain, [{ exchange: s.mx, priority: 10 }]])),
    a: Object.fromEntries(Object.values(LAB).map((s) => [s.mx, [s.ip]])),
    ptr: Object.fromEntries(Object.values(LAB).map((s) => [s.ip, [s.mx]])),
  });
  const fakes: FakeServer[] = [];
  const closers: (() => Promise<void>)[] = [() => dns.close()];
  const flip = { open: false };
  let slowDataAttempts = () => 0;
  try {
    const common = (s: (typeof LAB)[LabState]) => ({ host: s.ip, port: 25, hostname: s.mx, domains: [s.domain] });
    fakes.push(
      await startOpenRelay({ ...common(LAB.open), starttls: "offered" }),
      await startTrickVulnerable({ ...common(LAB.tricks), starttls: "offered" }),
      await startClosed({ ...common(LAB.closed), starttls: "offered", extensions: ["AUTH PLAIN LOGIN"] }),
      await startGreylisting({ ...common(LAB.grey) }),
      await startScriptedSmtp({
        ...common(LAB.flip),
        policy: ({ rcpt, users }) =>
          flip.open || (rcpt.ownDomain && users.includes(rcpt.local.toLowerCase()))
            ? { code: 250, lines: ["2.1.5 Ok"] }
            : { code: 554, lines: [`5.7.1 <${rcpt.raw}>: Relaying denied`] },
      }),
    );
    // Slow enough that a test sees the counter move, quick enough to finish in seconds.
    const slow = await startFakeSmtp({ host: LAB.slow.ip, behaviour: "open", replyDelayMs: 250 });
    slowDataAttempts = () => slow.dataAttempts;
    closers.push(() => slow.close());
    const blocked = await startLineServer({
      host: LAB.blocked.ip,
      port: 25,
      greeting: BLOCKED_GREETING,
      onLine(line, conn) {
        // RFC 5321 3.1: after a 554 greeting the server answers QUIT (and 503 to the rest).
        if (verbOf(line) === "QUIT") conn.socket.end("221 2.0.0 Bye\r\n");
        else conn.socket.write("503 5.5.1 Error: no service\r\n");
      },
    });
    closers.push(() => blocked.close());
  } catch (e) {
    await Promise.all([...fakes.map((f) => f.close()), ...closers.map((c) => c())]);
    throw e;
  }
  return {
    dns,
    dataAttempts: () => fakes.reduce((n, f) => n + f.log.dataAttempts, 0) + slowDataAttempts(),
    openFlip: () => {
      flip.open = true;
    },
    close: async () => {
      await Promise.all([...fakes.map((f) => f.close()), ...closers.map((c) => c())]);
    },
  };
}
