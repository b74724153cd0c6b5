/**
 * Real Postfix instances for tests: each one its own config, queue and data directory in a temp
 * dir, listening on one loopback address (127.0.0.21 ... port 25), with transports that can
 * never deliver anything anywhere (`discard:`), no DNS (no lookups for clients or deliveries), and
 * postscreen only on request. Two presets:
 *
 * - `closed`: mynetworks is 192.0.2.1/32 only, so loopback clients are strangers; relay denied
 *   with 554 5.7.1 (reject_unauth_destination); Postfix's default error limits (slow down after
 *   10 errors, hang up at 20).
 * - `open`: mynetworks is 127.0.0.0/8, so the probe is trusted and everything relays (to the
 *   discard transport).
 *
 * `postscreen` puts Postfix's pre-queue filter in front of smtpd, with a short greet wait and its
 * after-220 tests (pipelining, non-SMTP command, bare newline): a new client gets a multi-line
 * greeting with a pause inside, then postscreen's own SMTP engine, which answers 450 4.3.2 to
 * every RCPT; a client that passed may reconnect and meets smtpd. Connection limits
 * (`smtpd_client_connection_rate_limit` with a short `anvil_rate_time_unit`) go through `main`.
 * The readiness check connects from READY_CHECK_SOURCE, so neither postscreen's verdict nor the
 * rate limit counts it against the probe's own address.
 *
 * How it runs: as root, `master -c <dir> -d` is a child process of the test in its own process
 * group (not daemonised, so `close()` or the test process's exit stops it, children included);
 * the queue directories are created here with the ownership `postfix check` would give them
 * (`postfix check` itself costs ~2 s; `postfix start-fg` leaves master running when its shell is
 * killed). `inet_interfaces` is `loopback-only`
 * because Postfix refuses addresses that are not configured on an interface, and 127.0.0.21 is
 * only routed, not configured; the listener's address comes from master.cf instead.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, openSync, closeSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { DependencyCheck } from "./require";

export const POSTFIX_COMMAND = "/usr/sbin/postfix";
const POSTCONF = "/usr/sbin/postconf";
const DEFAULT_DAEMON_DIRECTORY = "/usr/lib/postfix/sbin";
const READY_TIMEOUT_MS = 20_000;
const READY_POLL_MS = 50;
/** Longest greeting wait of the readiness check (postscreen's greet wait included). */
const GREETING_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;
/** Where the readiness check connects from: not the probe's 127.0.0.1. */
const READY_CHECK_SOURCE = "127.0.0.254";
/** Addresses tried for instances, in order; one lock file each so parallel runs do not collide. */
const ADDRESS_RANGE = { first: 21, last: 120 } as const;

export type PostfixPreset = "closed" | "open";

export interface PostfixOptions {
  preset: PostfixPreset;
  /** A loopback address; by default the first free one from 127.0.0.21 on. */
  address?: string;
  /** Default: mx.<preset>.test */
  myhostname?: string;
  /** Default: <preset>.test */
  domain?: string;
  /** Local parts that exist at the instance's domains (the rest are "User unknown"). */
  recipients?: string[];
  /** Extra or overriding main.cf parameters. */
  main?: Record<string, string>;
  /** postscreen in front of smtpd, with its greet wait and after-220 tests. */
  postscreen?: { greetWait: string };
  /**
   * transport_maps entries (domain → transport), e.g. `{ "sink.test": "smtp:[127.0.0.80]:2525" }`:
   * mail for these domains really leaves through Postfix's SMTP client (only to loopback sinks);
   * everything else still goes to the discard transport.
   */
  transports?: Record<string, string>;
  /**
   * Files written to the instance's config directory (name → content), for lookup tables that
   * `main` names as `regexp:$config_directory/<name>`.
   */
  files?: Record<string, string>;
}

export interface PostfixInstance {
  preset: PostfixPreset;
  host: string;
  port: 25;
  myhostname: string;
  domain: string;
  dir: string;
  /** The instance's own log (maillog_file), for diagnostics. */
  maillog(): Promise<string>;
  close(): Promise<void>;
}

let availability: DependencyCheck | undefined;

function daemonDirectory(): string {
  const r = spawnSync(POSTCONF, ["-dh", "daemon_directory"], { encoding: "utf8" });
  const dir = r.status === 0 ? r.stdout.trim() : "";
  return dir || DEFAULT_DAEMON_DIRECTORY;
}

function accountExists(file: "/etc/passwd" | "/etc/group", name: string): boolean {
  try {
    return readFileSync(file, "utf8").split("\n").some((l) => l.startsWith(`${name}:`));
  } catch {
    return false;
  }
}

/** Can this machine run a test Postfix? Cached. */
export function postfixAvailable(): DependencyCheck {
  if (availability) return availability;
  const install =
    'install it: echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections && ' +
    "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postfix";
  if (!existsSync(POSTFIX_COMMAND) || !existsSync(POSTCONF)) {
    availability = { ok: false, reason: `Postfix is not installed (${POSTFIX_COMMAND} missing); ${install}` };
  } else if (!existsSync(path.join(daemonDirectory(), "master"))) {
    availability = { ok: false, reason: `Postfix's master daemon is missing in ${daemonDirectory()}; ${install}` };
  } else if (process.getuid?.() !== 0) {
    availability = { ok: false, reason: "real-Postfix tests need root (port 25, switching to the postfix user)" };
  } else if (!accountExists("/etc/passwd", "postfix") || !accountExists("/etc/group", "postdrop")) {
    availability = { ok: false, reason: "the postfix user or the postdrop group is missing (reinstall the postfix package)" };
  } else {
    availability = { ok: true };
  }
  return availability;
}

function mainCf(o: {
  dir: string;
  host: string;
  preset: PostfixPreset;
  myhostname: string;
  domain: string;
  postscreen?: PostfixOptions["postscreen"];
  transports?: Record<string, string>;
  extra: Record<string, string>;
}): string {
  // Not `error:`: smtpd rejects at RCPT a recipient whose transport is `error`, which would make
  // the open preset look closed. `discard:` accepts and throws away; and no DATA is ever sent.
  const never = "discard:relaycheck test instance never delivers";
  const params: Record<string, string> = {
    compatibility_level: "3.6",
    queue_directory: path.join(o.dir, "queue"),
    data_directory: path.join(o.dir, "data"),
    mail_owner: "postfix",
    setgid_group: "postdrop",
    // Postfix refuses interface addresses that no interface carries; the listener address is set
    // in master.cf, this only keeps outgoing connections (there are none) on loopback.
    inet_interfaces: "loopback-only",
    inet_protocols: "ipv4",
    myhostname: o.myhostname,
    mydomain: o.domain,
    myorigin: "$mydomain",
    mydestination: "$mydomain, $myhostname",
    mynetworks: o.preset === "open" ? "127.0.0.0/8" : "192.0.2.1/32",
    // Postfix's built-in default ends in defer_unauth_destination (454, a temporary failure);
    // a closed server as deployed answers 554 5.7.1, which is what the closed preset plays.
    smtpd_relay_restrictions: "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
    // No DNS anywhere: not for deliveries (there are none), not for the client's name.
    disable_dns_lookups: "yes",
    smtp_host_lookup: "native",
    lmtp_host_lookup: "native",
    smtpd_peername_lookup: "no",
    // Nothing can ever leave: every transport is the discard transport.
    default_transport: never,
    relay_transport: never,
    local_transport: never,
    virtual_transport: never,
    alias_maps: "",
    alias_database: "",
    local_recipient_maps: `texthash:${path.join(o.dir, "conf", "recipients")}`,
    smtpd_banner: "$myhostname ESMTP Postfix (relaycheck test)",
    // Postfix's defaults, spelled out because the engine tests depend on them.
    smtpd_soft_error_limit: "10",
    smtpd_hard_error_limit: "20",
    smtpd_error_sleep_time: "1s",
    // Never throttle accepted RCPTs for lack of deliveries (it would slow repeated runs).
    in_flow_delay: "0",
    biff: "no",
    append_dot_mydomain: "no",
    maillog_file: path.join(o.dir, "maillog"),
    maillog_file_prefixes: o.dir,
    ...(o.transports ? { transport_maps: `texthash:${path.join(o.dir, "conf", "transport")}`, smtp_tls_security_level: "none", smtp_connect_timeout: "5s" } : {}),

    ...(o.postscreen ? postscreenCf(o.postscreen) : {}),
    ...o.extra,
  };
  return Object.entries(params).map(([k, v]) => `${k} = ${v}`).join("\n") + "\n";
}

/** postscreen with every test that needs no DNS: the greet wait and the after-220 tests. */
function postscreenCf(o: NonNullable<PostfixOptions["postscreen"]>): Record<string, string> {
  return {
    postscreen_greet_wait: o.greetWait,
    postscreen_greet_action: "enforce",
    postscreen_pipelining_enable: "yes",
    postscreen_non_smtp_command_enable: "yes",
    postscreen_bare_newline_enable: "yes",
    postscreen_dnsbl_sites: "",
    postscreen_cache_map: "btree:$data_directory/postscreen_cache",
  };
}

function masterCf(host: string, postscreen: boolean, smtpClient: boolean): string {
  // Only what smtpd needs to answer up to RCPT; chroot off (the temp dir is no chroot jail).
  const front = postscreen
    ? `${host}:25 inet n - n - 1 postscreen
smtpd     pass  -       -       n       -       -       smtpd
dnsblog   unix  -       -       n       -       0       dnsblog
`
    : `${host}:25 inet n - n - - smtpd
`;
  return `${front}pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
proxymap  unix  -       -       n       -       -       proxymap
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
${smtpClient ? "smtp      unix  -       -       n       -       -       smtp\n" : ""}`;
}

/** The queue directories `postfix check` would create, with its ownership and modes. */
async function createQueue(queue: string): Promise<void> {
  const postfixUid = Number(spawnSync("id", ["-u", "postfix"], { encoding: "utf8" }).stdout.trim());
  const postdropGid = Number(spawnSync("getent", ["group", "postdrop"], { encoding: "utf8" }).stdout.split(":")[2]);
  await mkdir(queue, { recursive: true, mode: 0o755 });
  for (const d of ["active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private", "saved", "trace"]) {
    await mkdir(path.join(queue, d), { mode: 0o700 });
    await chown(path.join(queue, d), postfixUid, 0);
  }
  await mkdir(path.join(queue, "maildrop"), { mode: 0o730 });
  await chown(path.join(queue, "maildrop"), postfixUid, postdropGid);
  await mkdir(path.join(queue, "public"), { mode: 0o710 });
  await chown(path.join(queue, "public"), postfixUid, postdropGid);
  await mkdir(path.join(queue, "pid"), { mode: 0o755 });
}

function lockPath(host: string): string {
  return path.join(os.tmpdir(), `relaycheck-postfix-${host}.lock`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Takes the lock file of an address: created exclusively, reclaimed from a dead process. */
function tryLock(host: string): boolean {
  const file = lockPath(host);
  for (let i = 0; i < 2; i++) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch {
      const pid = Number(readFileSyncSafe(file));
      if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) return false;
      try {
        unlinkSync(file);
      } catch {
        return false;
      }
    }
  }
  return false;
}

function readFileSyncSafe(file: string): string {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return "";
  }
}

function unlock(host: string): void {
  if (readFileSyncSafe(lockPath(host)) === String(process.pid)) {
    try {
      unlinkSync(lockPath(host));
    } catch {
      // already gone
    }
  }
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

async function pickAddress(preferred?: string): Promise<string> {
  const candidates = preferred ? [preferred] : Array.from({ length: ADDRESS_RANGE.last - ADDRESS_RANGE.first + 1 }, (_, i) => `127.0.0.${ADDRESS_RANGE.first + i}`);
  for (const host of candidates) {
    if (!tryLock(host)) continue;
    if (await portFree(host, 25)) return host;
    unlock(host);
  }
  throw new Error(preferred ? `${preferred}:25 is in use` : "no free loopback address for a Postfix instance");
}

/**
 * Resolves with the last greeting line once the server greets (postscreen's multi-line greeting
 * waits in the middle: talking before its end would fail the client), rejects if it cannot
 * connect. It connects from READY_CHECK_SOURCE, not from the probe's address.
 */
function greetingOf(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, localAddress: READY_CHECK_SOURCE });
    let buf = "";
    socket.setTimeout(GREETING_TIMEOUT_MS, () => socket.destroy(new Error("greeting timeout")));
    socket.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      const last = buf.split("\n").find((l) => /^\d{3}( |\r?$)/.test(l));
      if (last !== undefined) {
        socket.end("QUIT\r\n");
        resolve(last.trimEnd());
      }
    });
    socket.on("error", reject);
    socket.on("close", () => reject(new Error("closed before greeting")));
  });
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test process that dies without afterAll must not leave a master holding port 25.
  process.once("exit", () => {
    for (const child of running) child.kill("SIGTERM");
  });
}

/** Writes the instance's config, starts its master and waits until port 25 greets with 220. */
export async function startPostfix(options: PostfixOptions): Promise<PostfixInstance> {
  const check = postfixAvailable();
  if (!check.ok) throw new Error(check.reason);
  const preset = options.preset;
  const myhostname = options.myhostname ?? `mx.${preset}.test`;
  const domain = options.domain ?? `${preset}.test`;
  const host = await pickAddress(options.address);
  let dir: string | undefined;
  try {
    dir = await mkdtemp(path.join(os.tmpdir(), `relaycheck-postfix-${preset}-`));
    await chmod(dir, 0o755); // the postfix user walks through it to its queue
    await mkdir(path.join(dir, "conf"));
    await mkdir(path.join(dir, "data"));
    await chown(path.join(dir, "data"), Number(spawnSync("id", ["-u", "postfix"], { encoding: "utf8" }).stdout.trim()), 0);
    await createQueue(path.join(dir, "queue"));
    await writeFile(
      path.join(dir, "conf", "main.cf"),
      mainCf({ dir, host, preset, myhostname, domain, postscreen: options.postscreen, transports: options.transports, extra: options.main ?? {} }),
    );
    await writeFile(path.join(dir, "conf", "master.cf"), masterCf(host, options.postscreen !== undefined, options.transports !== undefined));
    if (options.transports) await writeFile(path.join(dir, "conf", "transport"), Object.entries(options.transports).map(([d, t]) => `${d} ${t}\n`).join(""));
    for (const [name, content] of Object.entries(options.files ?? {})) {
      if (!/^[a-z0-9_.-]+$/.test(name) || name === "main.cf" || name === "master.cf") throw new Error(`bad config file name ${name}`);
      await writeFile(path.join(dir, "conf", name), content);
    }
    const recipients = options.recipients ?? ["postmaster", "abuse", "alice"];
    await writeFile(path.join(dir, "conf", "recipients"), recipients.map((r) => `${r} ok\n`).join(""));

    const child = spawn(path.join(daemonDirectory(), "master"), ["-c", path.join(dir, "conf"), "-d"], {
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group: master stops its children by signalling its group.
      detached: true,
    });
    running.add(child);
    installExitHook();
    let output = "";
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    exited.then(() => running.delete(child)).catch(() => undefined);
    const instanceDir = dir;
    const maillog = () => readFile(path.join(instanceDir, "maillog"), "utf8").catch(() => "");

    const deadline = Date.now() + READY_TIMEOUT_MS;
    let exitCode: number | null | undefined;
    void exited.then((c) => (exitCode = c));
    for (;;) {
      if (exitCode !== undefined) throw new Error(`postfix master exited (${exitCode}) before it listened:\n${output}\n${await maillog()}`);
      try {
        const greeting = await greetingOf(host, 25);
        if (!greeting.startsWith("220")) throw new Error(`unexpected greeting: ${greeting}`);
        break;
      } catch (error) {
        if (Date.now() > deadline) {
          child.kill("SIGKILL");
          throw new Error(`postfix on ${host}:25 did not greet within ${READY_TIMEOUT_MS} ms (${String(error)}):\n${output}\n${await maillog()}`, { cause: error });
        }
        await new Promise((r) => setTimeout(r, READY_POLL_MS));
      }
    }

    let closing: Promise<void> | undefined;
    return {
      preset,
      host,
      port: 25,
      myhostname,
      domain,
      dir: instanceDir,
      maillog,
      close() {
        closing ??= (async () => {
          if (exitCode === undefined) {
            child.kill("SIGTERM");
            const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
            await exited;
            clearTimeout(timer);
          }
          unlock(host);
          if (process.env.RELAYCHECK_KEEP_POSTFIX !== "1") await rm(instanceDir, { recursive: true, force: true });
        })();
        return closing;
      },
    };
  } catch (error) {
    unlock(host);
    if (dir && process.env.RELAYCHECK_KEEP_POSTFIX !== "1") await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
}
