"use client";

import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { safePath, submitCheck } from "@/components/form/submit-check";

interface Props {
  checkId: string;
  target: string;
  ports: number[];
}

/**
 * "Check again": asks for a fresh check. The service may still answer with the recent one
 * (cool-down) or refuse (rate limit); either way its answer is shown here. Without JavaScript
 * the same form posts to /checks.
 */
export function CheckAgain({ checkId, target, ports }: Props) {
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ text: string; href?: string; error: boolean } | null>(null);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setBusy(true);
    setMessage(null);
    const r = await submitCheck({ target, ports, fresh: true });
    setBusy(false);
    if (!r.ok) {
      setMessage({ text: r.message, error: true });
    } else if (r.id === checkId || r.reused) {
      setMessage({
        text: r.id === checkId ? "This report is still recent, so the service reused it instead of checking again. Try again in a few minutes." : "A check of this target ran moments ago; the service reused it.",
        href: r.id === checkId ? undefined : safePath(r.url, `/checks/${r.id}`),
        error: false,
      });
    } else {
      router.push(safePath(r.url, `/checks/${r.id}`));
    }
  }

  return (
    <form method="post" action="/checks/new" onSubmit={onSubmit} className="space-y-2">
      <input type="hidden" name="target" value={target} />
      {ports.map((p) => (
        <input key={p} type="hidden" name="ports" value={p} />
      ))}
      <input type="hidden" name="fresh" value="1" />
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {busy ? "Starting…" : `Check ${target} again`}
      </button>
      <p role="status" aria-live="polite" className={message?.error ? "text-sm text-danger" : "text-sm"}>
        {message?.text}
        {message?.href ? (
          <>
            {" "}
            <a href={message.href}>Open that report</a>
          </>
        ) : null}
      </p>
    </form>
  );
}
