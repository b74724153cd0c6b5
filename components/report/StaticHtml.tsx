"use client";

import { useEffect, useRef, useState } from "react";
import { wireCopyButtons } from "@/components/ui/CopyButton";
import { takeStaticHtml } from "./static-html-handoff";

/** HTML of the parts already shown in this tab, for showing them again after a client-side navigation. */
const shown = new Map<string, string>();
const RELOADED = "relaycheck-static-html-reloaded";

interface Props {
  /** Names the content: the HTML put aside for the server-side render, and shown in this tab. */
  name: string;
  /** The HTML itself (a client-side navigation); absent on a document request. */
  html?: string;
  className?: string;
}

/**
 * HTML rendered once on the server (a finished report), sent once: in the page's HTML on a
 * document request (the React payload carries only its name), in the React payload on a
 * client-side navigation or refresh. React keeps the server's HTML when it hydrates an element whose
 * `dangerouslySetInnerHTML` it is told not to compare, and never touches it afterwards (the
 * content is fixed at first render), so `<details>` keep their state. The copy buttons inside
 * work through one listener (`wireCopyButtons`).
 */
export function StaticHtml({ name, html, className }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const [content] = useState(() => html ?? (typeof window === "undefined" ? takeStaticHtml(name) : (shown.get(name) ?? "")));
  useEffect(() => {
    const root = ref.current;
    if (!root) return;
    if (root.innerHTML) shown.set(name, root.innerHTML);
    // Mounted from a payload without the HTML and never shown in this tab: load the page itself
    // (once: should that bring no HTML either, reloading again would not help).
    else if (sessionStorage.getItem(RELOADED) !== name) {
      sessionStorage.setItem(RELOADED, name);
      window.location.reload();
    }
    return wireCopyButtons(root);
  }, [name]);
  return <div ref={ref} className={className} dangerouslySetInnerHTML={{ __html: content }} suppressHydrationWarning />;
}
