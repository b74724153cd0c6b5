"use client";

import { useRouter } from "next/navigation";
import { useId, useState, type FormEvent } from "react";
import { safePath, submitCheck } from "./submit-check";

const PORTS = [
  { port: 25, label: "25", hint: "SMTP, where other servers deliver mail" },
  { port: 587, label: "587", hint: "submission with STARTTLS" },
  { port: 465, label: "465", hint: "submission over TLS" },
] as const;

interface Props {
  initialTarget?: string;
  /** An error from the no-JavaScript path (/checks redirects back here with it). */
  initialError?: string;
  /** Offer the proof by delivery (RELAYCHECK_DELIVERY_PROOF=everyone and a sink configured). */
  offerProof?: boolean;
}

/**
 * The check form. With JavaScript it posts to the JSON API and goes to the permalink; without,
 * the browser posts it to /checks, which redirects. API errors are shown next to the field.
 */
export function CheckForm({ initialTarget = "", initialError, offerProof = false }: Props) {
  const router = useRouter();
  const ids = useId();
  const [target, setTarget] = useState(initialTarget);
  const [ports, setPorts] = useState<number[]>([25]);
  const [error, setError] = useState<string | null>(initialError ?? null);
  const [busy, setBusy] = useState(false);
  const [prove, setProve] = useState(false);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const value = target.trim();
    if (!value) return setError("Type a host name, a domain or an IP address.");
    if (!ports.length) return setError("Choose at least one port.");
    setBusy(true);
    setError(null);
    const r = await submitCheck({ target: value, ports, ...(offerProof && prove ? { proveDelivery: true } : {}) });
    if (r.ok) {
      router.push(safePath(r.url, `/checks/${r.id}`));
      return; // keep "busy" until the report page takes over
    }
    setBusy(false);
    setError(r.message);
  }

  function toggle(port: number, on: boolean) {
    setPorts((p) => (on ? [...new Set([...p, port])].sort((a, b) => a - b) : p.filter((x) => x !== port)));
  }

  const errorId = `${ids}-error`;
  return (
    <form method="post" action="/checks/new" onSubmit={onSubmit} noValidate className="space-y-4" aria-busy={busy}>
      <div>
        <label htmlFor={`${ids}-target`} className="block font-semibold">
          Mail server or domain
        </label>
        <p id={`${ids}-hint`} className="text-sm text-muted">
          A host name (mail.example.com), a domain (example.com: we test its MX servers) or an IP address.
        </p>
        <div className="mt-2 flex flex-col gap-2 sm:flex-row">
          <input
            id={`${ids}-target`}
            name="target"
            type="text"
            inputMode="url"
            autoComplete="off"
            autoCapitalize="none"
            spellCheck={false}
            required
            maxLength={255}
            value={target}
            onChange={(e) => setTarget(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? `${ids}-hint ${errorId}` : `${ids}-hint`}
            placeholder="mail.example.com"
            className="min-h-11 w-full flex-1 rounded-md border border-line bg-surface px-3 font-mono text-base text-ink placeholder:text-muted"
          />
          <button type="submit" className="btn btn-primary min-h-11 px-6 text-base" disabled={busy}>
            {busy ? "Starting…" : "Check"}
          </button>
        </div>
        <p id={errorId} role="alert" className="mt-2 text-sm font-semibold text-danger empty:hidden">
          {error}
        </p>
      </div>
      <fieldset>
        <legend className="font-semibold">Ports</legend>
        <div className="mt-1 flex flex-wrap gap-x-6 gap-y-2">
          {PORTS.map((p) => (
            <label key={p.port} className="inline-flex items-start gap-2 text-sm">
              <input
                type="checkbox"
                name="ports"
                value={p.port}
                checked={ports.includes(p.port)}
                onChange={(e) => toggle(p.port, e.target.checked)}
                className="mt-0.5 h-4 w-4 accent-accent"
              />
              <span>
                <span className="font-mono font-semibold">{p.label}</span> <span className="text-muted">{p.hint}</span>
              </span>
            </label>
          ))}
        </div>
      </fieldset>
      {offerProof ? (
        <label className="inline-flex items-start gap-2 text-sm">
          <input type="checkbox" name="proveDelivery" value="true" checked={prove} onChange={(e) => setProve(e.target.checked)} className="mt-0.5 h-4 w-4 accent-accent" />
          <span>
            <span className="font-semibold">Prove by delivery</span>{" "}
            <span className="text-muted">
              where a server accepts a relay test, send it one harmless test message addressed to relaycheck&apos;s own mailbox, and wait (up to a few minutes) to see whether it arrives
            </span>
          </span>
        </label>
      ) : null}
    </form>
  );
}
