"use client";

import { useState } from "react";

interface Props {
  /** The text to copy, or… */
  text?: string;
  /** …the id of an element whose text content is copied (keeps large text out of the JS payload). */
  sourceId?: string;
  /** A path or URL made absolute against the current page before copying. */
  href?: string;
  label: string;
  className?: string;
}

async function writeClipboard(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain-HTTP deployments have no Clipboard API: fall back to a selected textarea.
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  if (!ok) throw new Error("copy refused");
}

export function CopyButton({ text, sourceId, href, label, className }: Props) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");

  async function copy() {
    const value = href !== undefined ? new URL(href, window.location.href).toString() : sourceId ? (document.getElementById(sourceId)?.textContent ?? "") : (text ?? "");
    try {
      await writeClipboard(value);
      setState("copied");
    } catch {
      setState("failed");
    }
    window.setTimeout(() => setState("idle"), 2500);
  }

  return (
    <button type="button" onClick={copy} className={className ?? "btn"}>
      {label}
      <span aria-live="polite" className="ml-1 font-normal">
        {state === "copied" ? "✓ copied" : state === "failed" ? "— copy failed, select the text instead" : ""}
      </span>
    </button>
  );
}
