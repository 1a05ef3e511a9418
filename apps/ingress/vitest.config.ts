import { defineConfig } from 'vitest/config';
import { projectConfig } from '../../vitest.shared.ts';

// --expose-gc lets the bad-input corpus test measure the heap after collection (leak check).
const config = projectConfig(import.meta.dirname);
export default defineConfig({ ...config, test: { ...config.test, execArgv: ['--expose-gc'] } });
