/**
 * The Blocklists panel's markup from the fixtures, without a browser: listed on N of M, each
 * listing's meanings and delisting link (http(s) only), lists that could not be asked said so and
 * never counted as "not listed", nothing for a report without blocklist answers.
 */
import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { Blocklists } from "@/components/report/Blocklists";
import type { ServerReport } from "@/lib/probe/types";
import { openRelay, openRelayBlocklists } from "./fixtures/reports";

const render = (server: ServerReport) => renderToStaticMarkup(createElement(Blocklists, { server }));
const text = (html: string) => html.replace(/<[^>]+>/g, " ").replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/\s+/g, " ").replace(/ ([).,])/g, "$1");
const server = { ...openRelay.servers[0]!, dnsbl: openRelayBlocklists };

describe("Blocklists panel", () => {
  it("says listed on 2 of 7 with the meanings, the answers and the delisting pages", () => {
    const html = render(server);
    expect(html).toContain('data-blocklists="listed"');
    expect(text(html)).toContain("Address 192.0.2.25 ✕ listed on 2 of 7 lists ? 1 could not be asked");
    expect(text(html)).toContain("SBL: a known spam source or spam operation");
    expect(text(html)).toContain("answer 127.0.0.2, 127.0.0.10");
    expect(html).toContain('<a href="https://check.spamhaus.org/" rel="noreferrer noopener">Delisting page of Spamhaus ZEN</a>');
    expect(html.match(/data-blocklist-status="listed"/g)).toHaveLength(2);
    expect(html.match(/data-blocklist-status="not-listed"/g)).toHaveLength(4 + 2 + 1);
  });

  it("shows the lists that could not be asked as such, with their answer", () => {
    const t = text(render(server));
    expect(t).toContain("Barracuda Reputation Block List could not be asked: the list answered with a code it does not document");
    expect(t).toContain("(answer 127.0.0.99)");
    expect(t).toContain("Name example.com ✓ not listed on 1 of 2 lists ? 1 could not be asked");
    expect(t).toContain("Spamhaus DBL could not be asked: Spamhaus refuses queries that come through public or shared DNS resolvers (answer 127.255.255.254)");
  });

  it("links only http(s) delisting pages", () => {
    const odd = { ...openRelayBlocklists, listed: [{ ...openRelayBlocklists.listed[0]!, delistUrl: "javascript:alert(1)" }] };
    const html = render({ ...server, dnsbl: odd });
    expect(html).not.toContain("javascript:");
    expect(html).not.toContain("<a ");
  });

  it("a clean address says not listed; a report without blocklist answers shows nothing", () => {
    const clean = { ...openRelayBlocklists, listed: [], couldNotQuery: [], notListed: [...openRelayBlocklists.notListed, { list: "Spamhaus ZEN", zone: "zen.spamhaus.org" }], domains: [] };
    const html = render({ ...server, dnsbl: clean });
    expect(html).toContain('data-blocklists="clean"');
    expect(text(html)).toContain("✓ not listed on 5 of 5 lists");
    expect(render(openRelay.servers[0]!)).toBe("");
  });
});
