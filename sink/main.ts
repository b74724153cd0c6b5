/**
 * The sink process (`npm run sink`, the `sink` service of docker-compose.yml): inbound SMTP for
 * RELAYCHECK_SINK_DOMAIN, taking proof-of-delivery messages (lib/sink/run-sink.ts). A message
 * that arrives uses up its token, is stored with it, and ends its check with the proven report
 * (lib/sink/settle-delivery.ts) when the check is waiting for it; otherwise the worker settles it.
 */
import { getEnvOrExit } from "@/lib/env";
import { closeCheckServices, createCheckServices } from "@/lib/checks/services";
import { isLiveToken, useToken } from "@/lib/sink/delivery-tokens";
import { runSink } from "@/lib/sink/run-sink";
import { settleDelivery } from "@/lib/sink/settle-delivery";

async function main(): Promise<void> {
  const env = getEnvOrExit();
  if (!env.RELAYCHECK_SINK_DOMAIN) throw new Error("RELAYCHECK_SINK_DOMAIN is not set: the sink takes mail for that domain only");
  const services = createCheckServices(env, "sink");
  const { db, log } = services;
  const sink = await runSink({
    host: env.RELAYCHECK_SINK_HOST,
    port: env.RELAYCHECK_SINK_PORT,
    sinkDomain: env.RELAYCHECK_SINK_DOMAIN,
    hostname: env.RELAYCHECK_EHLO_NAME ?? env.RELAYCHECK_SINK_DOMAIN,
    log,
    isLive: (token) => isLiveToken(db, token),
    onArrival: async (token, arrival) => {
      const used = await useToken(db, token, arrival);
      if (!used) return false;
      // The arrival is stored with its token: the client gets its 250 now, and if ending the
      // check fails here, the worker's follow-up ends it from the stored arrival.
      void settleDelivery(services, used.checkId, "whenArrived").catch((err: unknown) => log.warn({ err, checkId: used.checkId }, "sink: could not end the check now; its follow-up will"));
      return true;
    },
  });
  log.info({ ...sink.address, domain: env.RELAYCHECK_SINK_DOMAIN }, "sink listening");
  process.send?.({ type: "ready", port: sink.address.port });
  const stop = async () => {
    await sink.close();
    await closeCheckServices(services);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
