import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/helpers/register-profiles.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          // Archive sources against real servers started on loopback (SeaweedFS,
          // restic, rclone): no engine, but seconds of server start-up each.
          name: 'sources',
          include: ['test/sources/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'containers',
          include: ['test/containers/**/*.test.ts'],
          setupFiles: ['test/helpers/register-profiles.ts'],
          // Real containers on a 2-core machine: generous limits, and files run
          // one after another so drills do not starve each other.
          testTimeout: 600_000,
          hookTimeout: 900_000,
          fileParallelism: false,
          globalSetup: ['test/containers/global-setup.ts'],
        },
      },
    ],
  },
});
