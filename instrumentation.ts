/**
 * Runs once when the web server starts: parse the environment now, so that a bad variable stops
 * the server with its name instead of failing the first request.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === "nodejs" && process.env.NEXT_PHASE !== "phase-production-build") {
    const { getEnvOrExit } = await import("@/lib/env");
    getEnvOrExit();
  }
}
