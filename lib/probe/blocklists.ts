/**
 * The DNS blocklists relaycheck knows, from the data file `data/dnsbl-lists.json` (names, zones,
 * what each answer means, where to ask for removal), validated when loaded: a broken entry stops
 * the process at start with the entry named, not a check half-way.
 */
import { z } from "zod";
import data from "./data/dnsbl-lists.json";

const ZONE = /^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
const LOOPBACK_ANSWER = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

const answerMap = z.record(z.string().regex(LOOPBACK_ANSWER, "expected an answer in 127.0.0.0/8"), z.string().min(1));
const httpUrl = z.url({ protocol: /^https?$/ });

const listSchema = z
  .strictObject({
    name: z.string().min(1),
    zone: z.string().regex(ZONE, "expected a DNS zone in lower case"),
    /** "ip": asked about addresses (reversed octets or nibbles); "domain": about names. */
    kind: z.enum(["ip", "domain"]),
    ipv4: z.boolean(),
    ipv6: z.boolean(),
    default: z.boolean(),
    /** Documented answers and their meanings. */
    codes: answerMap.optional(),
    /** Bitmask lists (SURBL): the meaning of each bit of the answer's last octet. */
    bits: z.record(z.string().regex(/^(1|2|4|8|16|32|64|128)$/, "expected a bit value"), z.string().min(1)).optional(),
    /** Answers that mean the list refused to answer (this resolver): never "not listed". */
    errors: answerMap.optional(),
    delist: httpUrl.nullable(),
    about: httpUrl.optional(),
  })
  .refine((l) => Boolean(l.codes) !== Boolean(l.bits), { message: "give either codes or bits" })
  .refine((l) => l.kind === "domain" || l.ipv4 || l.ipv6, { message: "an ip list covers IPv4, IPv6 or both" });

const fileSchema = z.object({ $comment: z.string().optional(), lists: z.array(listSchema).min(1) });

export type BlocklistDefinition = z.infer<typeof listSchema>;

/** Parses a list file; throws with the path of the first bad field. */
export function parseBlocklistFile(value: unknown): BlocklistDefinition[] {
  const result = fileSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`dnsbl-lists.json: ${issue.path.join(".")}: ${issue.message}`);
  }
  const zones = new Set<string>();
  for (const list of result.data.lists) {
    if (zones.has(list.zone)) throw new Error(`dnsbl-lists.json: zone ${list.zone} appears twice`);
    zones.add(list.zone);
  }
  return result.data.lists;
}

export const BLOCKLISTS: readonly BlocklistDefinition[] = parseBlocklistFile(data);
export const DEFAULT_BLOCKLIST_ZONES: readonly string[] = BLOCKLISTS.filter((l) => l.default).map((l) => l.zone);

export class BlocklistSelectionError extends Error {
  override name = "BlocklistSelectionError";
}

/**
 * "off" → no lists; "default" → the default set; otherwise zones (comma or space separated),
 * where "default" adds the default set. An unknown zone is an error naming the known ones.
 */
export function parseBlocklistSelection(spec: string): string[] | "off" {
  const words = spec.split(/[\s,]+/).map((w) => w.trim().toLowerCase().replace(/\.$/, "")).filter(Boolean);
  if (words.length === 1 && (words[0] === "off" || words[0] === "none")) return "off";
  const zones = new Set<string>();
  for (const word of words) {
    if (word === "default") {
      DEFAULT_BLOCKLIST_ZONES.forEach((z) => zones.add(z));
      continue;
    }
    if (!BLOCKLISTS.some((l) => l.zone === word)) {
      throw new BlocklistSelectionError(`unknown blocklist zone "${word}"; known: ${BLOCKLISTS.map((l) => l.zone).join(", ")} (or "default", or "off")`);
    }
    zones.add(word);
  }
  if (zones.size === 0) throw new BlocklistSelectionError('expected blocklist zones, "default" or "off"');
  return [...zones];
}

/** The definitions of the selected zones (unset: the default set), in the data file's order. */
export function selectBlocklists(zones: readonly string[] | "off" | undefined): BlocklistDefinition[] {
  if (zones === "off") return [];
  const wanted = new Set(zones ?? DEFAULT_BLOCKLIST_ZONES);
  const unknown = [...wanted].filter((z) => !BLOCKLISTS.some((l) => l.zone === z));
  if (unknown.length) throw new BlocklistSelectionError(`unknown blocklist zone "${unknown[0]}"`);
  return BLOCKLISTS.filter((l) => wanted.has(l.zone));
}
