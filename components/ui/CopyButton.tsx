"use client";

import { useState } from "react";
import type { CopyButtonProps } from "./copy-button-props";

type Props = CopyButtonProps;

export async function writeClipboard(text: string): Promise<void> {
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

const COPIED = "✓ copied";
const FAILED = "— copy failed, select the text instead";
const SHOWN_MS = 2500;

function copyValue({ text, sourceId, href }: Pick<Props, "text" | "sourceId" | "href">): string {
  return href !== undefined ? new URL(href, window.location.href).toString() : sourceId ? (document.getElementById(sourceId)?.textContent ?? "") : (text ?? "");
}

export function CopyButton({ text, sourceId, href, label, className }: Props) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");

  async function copy() {
    try {
      await writeClipboard(copyValue({ text, sourceId, href }));
      setState("copied");
    } catch {
      setState("failed");
    }
    window.setTimeout(() => setState("idle"), SHOWN_MS);
  }

  return (
    <button type="button" onClick={copy} className={className ?? "btn"}>
      {label}
      <span aria-live="polite" className="ml-1 font-normal">
        {state === "copied" ? COPIED : state === "failed" ? FAILED : ""}
      </span>
    </button>
  );
}

/**
 * Makes the copy buttons in server-rendered HTML work (components/ui/StaticCopyButton.tsx: the
 * same button with `data-copy-source` or `data-copy-href`), with one listener on `root`. Returns
 * what removes it.
 */
export function wireCopyButtons(root: HTMLElement): () => void {
  const timers = new Set<number>();
  const onClick = async (event: MouseEvent) => {
    const button = event.target instanceof Element ? event.target.closest<HTMLButtonElement>("button[data-copy-source], button[data-copy-href]") : null;
    if (!button || !root.contains(button)) return;
    const status = button.querySelector("[data-copy-status]");
    let shown = COPIED;
    try {
      await writeClipboard(copyValue({ sourceId: button.dataset.copySource, href: button.dataset.copyHref }));
    } catch {
      shown = FAILED;
    }
    if (!status) return;
    status.textContent = shown;
    const timer = window.setTimeout(() => {
      timers.delete(timer);
      status.textContent = "";
    }, SHOWN_MS);
    timers.add(timer);
  };
  root.addEventListener("click", onClick);
  return () => {
    root.removeEventListener("click", onClick);
    for (const t of timers) window.clearTimeout(t);
  };
}
