import { defineConfig } from 'vitest/config';
import { projectConfig } from '../../vitest.shared.ts';

// The browser test starts Chromium and waits for a worker: give it room.
export default defineConfig(projectConfig(import.meta.dirname, { testTimeout: 60_000 }));
