import { randomBytes } from "node:crypto";

/** 128 random bits, base64url: 22 characters, unguessable, never sequential. */
export function newCheckId(): string {
  return randomBytes(16).toString("base64url");
}

export const CHECK_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export function isCheckId(value: string): boolean {
  return CHECK_ID_PATTERN.test(value);
}
