"use client";

import { useRouter } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import { wireCopyButtons } from "@/components/ui/CopyButton";
import { takeStaticHtml } from "./static-html-handoff";

/** HTML of the parts already shown in this tab, for showing them again after a client-side navigation. */
const shown = new Map<string, string>();

interface Props {
  /** Names the content (for showing it again in this tab). */
  name: string;
  /** The HTML itself (a client-side navigation), or… */
  html?: string;
  /** …the token of the HTML put aside for the server-side render (a document request). */
  token?: string;
  className?: string;
}

/**
 * HTML rendered once on the server (a finished report), sent once: in the page's HTML on a
 * document request (the React payload carries only a token), in the React payload on a
 * client-side navigation. React keeps the server's HTML when it hydrates an element whose
 * `dangerouslySetInnerHTML` it is told not to compare, and never touches it afterwards (the
 * content is fixed at first render), so `<details>` keep their state. The copy buttons inside
 * work through one listener (`wireCopyButtons`).
 */
export function StaticHtml({ name, html, token, className }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const router = useRouter();
  const [content, setContent] = useState(() => html ?? (typeof window === "undefined" ? (token ? takeStaticHtml(token) : "") : (shown.get(name) ?? "")));
  useEffect(() => {
    const root = ref.current;
    if (!root) return;
    if (root.innerHTML) shown.set(name, root.innerHTML);
    // Mounted again in this tab from a payload without the HTML: ask the server for it.
    else router.refresh();
    return wireCopyButtons(root);
  }, [name, router]);
  useEffect(() => {
    // The refreshed payload brought the HTML this element was mounted without.
    if (html && ref.current && !ref.current.innerHTML) setContent(html);
  }, [html]);
  return <div ref={ref} className={className} dangerouslySetInnerHTML={{ __html: content }} suppressHydrationWarning />;
}
