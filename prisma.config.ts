// Prisma runs here with its JavaScript/WebAssembly schema engine and the pg driver adapter:
// the native engines would be downloaded from binaries.prisma.sh, which a self-hosted
// (and an offline CI) install must not depend on.
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';

// The schema's env("DATABASE_URL") must resolve even for `prisma generate`, which needs no database.
process.env.DATABASE_URL ??= 'postgresql://postgres@127.0.0.1:5432/broker';
const url = process.env.DATABASE_URL;

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  adapter: async () => new PrismaPg({ connectionString: url }),
});
