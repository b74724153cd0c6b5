import { getCheckServices } from "@/lib/checks";
import { getClientIp, hashClientIp } from "@/lib/security/client-ip";

/** The client's IP (for createCheck, which hashes it) and its rate-limit key (already hashed). */
export function clientOf(request: Request): { ip: string; key: string } {
  const { settings } = getCheckServices();
  const ip = getClientIp(request.headers, settings.trustedProxies);
  return { ip, key: hashClientIp(ip, settings.ipHashSecret) };
}
