import type { Metadata, Viewport } from "next";
import { connection } from "next/server";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "relaycheck — is your mail server an open relay?", template: "%s — relaycheck" },
  description: "Check whether an SMTP server relays mail for strangers, with the full conversation as evidence. No mail is sent.",
};

export const viewport: Viewport = {
  colorScheme: "light dark",
  themeColor: [
    { media: "(prefers-color-scheme: light)", color: "#f7f7f5" },
    { media: "(prefers-color-scheme: dark)", color: "#121316" },
  ],
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Every page is rendered per request, the 404 page included: the Content-Security-Policy
  // (proxy.ts) allows only scripts carrying this request's nonce, which a prerendered page lacks.
  await connection();
  return (
    <html lang="en">
      <body className="min-h-screen antialiased">
        <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-10 focus:rounded focus:bg-surface focus:p-2">
          Skip to content
        </a>
        <header className="border-b border-line bg-surface">
          <div className="mx-auto flex max-w-6xl items-center justify-between gap-4 px-4 py-3">
            <a href="/" className="text-lg font-bold text-ink no-underline">
              <span aria-hidden="true" className="mr-1 text-accent">✉</span>relaycheck
            </a>
            <span className="hidden text-sm text-muted sm:inline">Open-relay test for mail servers</span>
          </div>
        </header>
        <main id="main" className="mx-auto max-w-6xl px-4 py-6 sm:py-8">
          {children}
        </main>
        <footer className="mx-auto max-w-6xl px-4 pb-8 text-sm text-muted">
          relaycheck never sends mail: each test stops before DATA. Reports are unlisted; anyone with the link can read them.
        </footer>
      </body>
    </html>
  );
}
