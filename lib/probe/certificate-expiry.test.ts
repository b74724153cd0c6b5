import { describe, expect, it } from "vitest";
import { certificateDaysLeft, serverFindings } from "./findings";
import type { ServerReport, TlsInfo } from "./types";

const DAY = 86_400_000;
const NOW = Date.parse("2026-12-02T12:00:00.000Z");

function serverWithCertificateUntil(validTo: string | null, expired = false): ServerReport {
  const tls: TlsInfo = {
    mode: "starttls", protocol: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", subject: "CN=mx.example.com", issuer: "CN=CA", subjectAltNames: ["mx.example.com"],
    validFrom: "2026-01-01T00:00:00.000Z", validTo, expired, selfSigned: false, hostnameMatch: true, authorized: true, authorizationError: null, handshakeMs: 3,
  };
  // Only the fields serverFindings reads: a server that talked SMTP over STARTTLS and is otherwise fine.
  return {
    host: "mx.example.com", ip: "192.0.2.25", port: 25, status: "ok", ptr: ["mx.example.com"], ptrMatches: true, ehloName: "mx.example.com", usedHelo: false,
    auth: { mechanisms: [], offeredBeforeTls: false }, starttls: { offered: true, required: false }, tls,
  } as unknown as ServerReport;
}

describe("certificate expiry", () => {
  it.each([
    [new Date(NOW + 30 * DAY).toISOString(), 30],
    [new Date(NOW + 13.5 * DAY).toISOString(), 13],
    [new Date(NOW + 2 * 3_600_000).toISOString(), 0],
    [new Date(NOW - DAY).toISOString(), -1],
    [null, null],
    ["not a date", null],
  ])("valid to %s → %s days left", (validTo, days) => {
    expect(certificateDaysLeft({ validTo }, NOW)).toBe(days);
  });

  it.each([
    [40, false],
    [14, false],
    [13, true],
    [1, true],
    [0, true],
  ])("%i days left → cert-expires-soon: %s", (days, warned) => {
    const validTo = new Date(Date.now() + days * DAY + 3_600_000).toISOString();
    const finding = serverFindings(serverWithCertificateUntil(validTo)).find((f) => f.id === "cert-expires-soon");
    expect(finding !== undefined).toBe(warned);
    if (finding) expect(finding).toMatchObject({ severity: "warning", message: expect.stringMatching(new RegExp(`expires in ${days === 1 ? "1 day" : `${days} days`}`)) });
  });

  it("an expired certificate is cert-expired, not cert-expires-soon", () => {
    const ids = serverFindings(serverWithCertificateUntil(new Date(Date.now() - DAY).toISOString(), true)).map((f) => f.id);
    expect(ids).toContain("cert-expired");
    expect(ids).not.toContain("cert-expires-soon");
  });
});
