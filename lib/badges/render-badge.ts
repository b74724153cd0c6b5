/**
 * The status badge: a small SVG in the shields.io style, "open relay | no · 2026-12-03" (green),
 * "yes" (red) or "unknown" (grey: not checked yet, inconclusive, unreachable, failed). Words and
 * colour both carry the answer; <title> repeats it for screen readers. Every text is escaped;
 * the SVG has no script, no link and nothing external.
 */
import type { Verdict } from "@/lib/probe/types";

export type BadgeAnswer = "no" | "yes" | "unknown";

export interface BadgeInput {
  verdict: Verdict | null;
  /** When the verdict was reached (ISO); shown as a UTC date and time. */
  checkedAt: string | null;
}

const LABEL = "open relay";
const COLOURS: Record<BadgeAnswer, string> = { no: "#2e7d32", yes: "#c62828", unknown: "#616161" };
/** Verdana 11px averages about this wide per character (shields.io's own estimate is close). */
const CHAR_WIDTH = 6.6;
const PADDING = 12;

export function badgeAnswerOf(verdict: Verdict | null): BadgeAnswer {
  if (verdict === "open-relay") return "yes";
  if (verdict === "not-open-relay") return "no";
  return "unknown";
}

/** "2026-12-03 14:05 UTC" */
function formatTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderBadge(input: BadgeInput): string {
  const answer = badgeAnswerOf(input.verdict);
  const value = input.checkedAt ? `${answer} · ${formatTime(input.checkedAt)}` : answer;
  const left = Math.round(LABEL.length * CHAR_WIDTH + PADDING);
  const right = Math.round(value.length * CHAR_WIDTH + PADDING);
  const width = left + right;
  const title = escapeXml(`${LABEL}: ${value}`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="20" role="img" aria-label="${title}">`,
    `<title>${title}</title>`,
    `<rect width="${left}" height="20" fill="#555"/>`,
    `<rect x="${left}" width="${right}" height="20" fill="${COLOURS[answer]}"/>`,
    `<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">`,
    `<text x="${left / 2}" y="14">${escapeXml(LABEL)}</text>`,
    `<text x="${left + right / 2}" y="14">${escapeXml(value)}</text>`,
    `</g>`,
    `</svg>`,
  ].join("");
}
