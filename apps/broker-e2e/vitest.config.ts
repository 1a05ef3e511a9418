import { defineConfig } from 'vitest/config';
import { projectConfig } from '../../vitest.shared.ts';

// End-to-end files each start the whole broker (5 processes + 2 simulators): run them one at a time.
const config = projectConfig(import.meta.dirname, { testTimeout: 120_000 });
export default defineConfig({ ...config, test: { ...config.test, fileParallelism: false, hookTimeout: 120_000 } });
