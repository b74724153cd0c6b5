/**
 * The shape of `data/dnsbl-lists.json`, the DNS blocklists relaycheck knows (names, zones, what
 * each answer means, where to ask for removal), and its validation: a broken entry is named, with
 * the path of its first bad field. The file is checked by its unit test, by the CLI's build
 * (scripts/build-cli.ts: no bundle from a broken file) and at every service start (lib/env.ts),
 * so a broken entry stops the service at start, never a check half-way. Kept apart from
 * blocklists.ts so that the CLI does not load zod (half of its bundle) to read a file checked
 * when it was built.
 */
import { z } from "zod";
import shipped from "./data/dnsbl-lists.json";

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

/** Throws if the shipped file is broken: lib/env.ts asks it at every service start. */
export function checkShippedBlocklists(): void {
  parseBlocklistFile(shipped);
}
