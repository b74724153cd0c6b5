"use client";

import { useEffect } from "react";

/** Unexpected errors while rendering a page: our fault, never the target's. */
export default function ErrorPage({ error, retry }: { error: unknown; retry: () => void }) {
  useEffect(() => {
    console.error(error);
  }, [error]);
  const digest = error instanceof Error && "digest" in error && typeof error.digest === "string" ? error.digest : null;
  return (
    <div role="alert" className="card max-w-2xl space-y-3 p-6">
      <h1 className="text-2xl font-bold">Something went wrong on our side</h1>
      <p>The page could not be shown. This says nothing about the server you are checking.</p>
      {digest ? <p className="text-sm text-muted">Reference: <code className="font-mono">{digest}</code></p> : null}
      <p className="flex gap-3">
        <button type="button" className="btn btn-primary" onClick={() => retry()}>
          Try again
        </button>
        <a className="btn" href="/">Home</a>
      </p>
    </div>
  );
}
