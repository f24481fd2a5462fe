import { ConfigError, type HaiaConfig, loadConfig } from '@haia/config';

/**
 * The configuration from the environment and `.env`; on a bad value, prints every problem and exits 1
 * (the bins' fail-fast start).
 */
export function loadAppConfig(): HaiaConfig {
  try {
    return loadConfig({
      env: process.env,
      cwd: process.cwd(),
      isTTY: process.stdout.isTTY,
      checkDataDir: true,
    });
  } catch (error) {
    if (ConfigError.isInstance(error)) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
