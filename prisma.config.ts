/**
 * Prisma CLI configuration (Prisma 7: the connection URL lives here, not in the schema).
 * The application's PrismaClient does not read this file: it connects through
 * @prisma/adapter-pg with the URL from lib/env.ts.
 */
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  // `prisma generate` needs no database; migrate commands fail clearly without DATABASE_URL.
  datasource: { url: process.env.DATABASE_URL ?? "" },
});
