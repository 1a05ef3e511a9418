import { defineConfig } from 'vitest/config';
import { projectConfig } from '../../vitest.shared.ts';

// The small chaos run starts its own Redis and PostgreSQL and the whole broker: minutes, not seconds.
const config = projectConfig(import.meta.dirname, { testTimeout: 900_000 });
export default defineConfig({ ...config, test: { ...config.test, fileParallelism: false, hookTimeout: 120_000 } });
