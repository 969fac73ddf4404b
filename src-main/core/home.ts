import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The default home: the same folder Electron's `app.getPath('userData')` gives for "MixUp Studio",
 * computed without Electron so the CLI and `serve` share the desktop app's data.
 */
export function defaultHome(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.MIXUP_STUDIO_HOME) return env.MIXUP_STUDIO_HOME;
  const name = 'MixUp Studio';
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), name);
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', name);
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), name);
}
