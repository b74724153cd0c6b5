/**
 * The engine's hook for a service-wide cap on connections to one server: it asks for a slot
 * before probing each address and port, holds it for the whole probe, and gives it back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startClosed, startOpenRelay } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { probeFake } from "./helpers";

describe("acquireServerSlot", () => {
  let dns: LocalDnsServer;
  let open: FakeServer;
  beforeAll(async () => {
    dns = await startDnsServer({});
    open = await startOpenRelay();
  });
  afterAll(async () => {
    await open.close();
    await dns.close();
  });

  it("wraps each server's probe: the slot is held while sessions run and released after", async () => {
    const calls: string[] = [];
    let held = 0;
    const { report } = await probeFake(open, dns.address, {
      acquireServerSlot: async (ip, port) => {
        calls.push(`acquire ${ip}:${port}`);
        held++;
        return () => {
          held--;
          calls.push(`release ${ip}:${port}`);
        };
      },
    });
    expect(report.verdict).toBe("open-relay");
    expect(calls).toEqual([`acquire ${open.host}:${open.port}`, `release ${open.host}:${open.port}`]);
    expect(held).toBe(0);
    expect(open.log.sessions.length).toBeGreaterThan(1);
  });

  it("waits for the slot before connecting", async () => {
    const closed = await startClosed();
    try {
      let grant!: () => void;
      const granted = new Promise<void>((r) => (grant = r));
      const running = probeFake(closed, dns.address, {
        acquireServerSlot: async () => {
          await granted;
          return () => {};
        },
      });
      await new Promise((r) => setTimeout(r, 100));
      expect(closed.log.sessions).toHaveLength(0); // nothing connected while the slot is taken
      grant();
      const { report } = await running;
      expect(report.verdict).toBe("not-open-relay");
    } finally {
      await closed.close();
    }
  });

  it("releases the slot when the probe fails", async () => {
    let released = false;
    const { report } = await probeFake({ host: "127.0.0.1", port: 9 }, dns.address, {
      acquireServerSlot: async () => () => {
        released = true;
      },
    });
    expect(report.verdict).toBe("unreachable");
    expect(released).toBe(true);
  });
});

describe("acquireServerSlot and cancellation", () => {
  it("a check cancelled while waiting for the slot reports the server as cancelled, never connects", async () => {
    const dns = await startDnsServer({});
    const closed = await startClosed();
    try {
      const controller = new AbortController();
      const { report, server } = await probeFake(closed, dns.address, {
        signal: controller.signal,
        acquireServerSlot: async () => {
          controller.abort(); // e.g. the check's time limit while another check holds the server
          return () => {};
        },
      });
      expect(closed.log.sessions).toHaveLength(0);
      expect(server.status).toBe("aborted");
      expect(report.verdict).toBe("inconclusive");
      expect(report.reason).toMatch(/cancelled before this server was tested/);
    } finally {
      await closed.close();
      await dns.close();
    }
  });
});
