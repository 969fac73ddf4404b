/**
 * The main window's size and place, remembered in the home's `settings` table (migration 0001) and put
 * back on the next start, provided it is still on a connected display.
 */
import type { Db } from '../db/connection';

export const WINDOW_STATE_KEY = 'window.main';

export interface WindowState {
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
}

export const DEFAULT_WINDOW_STATE: WindowState = { width: 1280, height: 820, maximized: false };
const MIN = { width: 800, height: 560 };

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

function isInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && Math.abs(n) < 100_000;
}

/** The saved state, or the default when none is saved, it is malformed, or it lies off every display. */
export function loadWindowState(db: Db, displays: Rect[]): WindowState {
  let saved: unknown;
  try {
    const row = db.prepare('SELECT value FROM settings WHERE key = ?').get(WINDOW_STATE_KEY) as { value: string } | undefined;
    saved = row ? JSON.parse(row.value) : undefined;
  } catch {
    saved = undefined;
  }
  if (!saved || typeof saved !== 'object') return { ...DEFAULT_WINDOW_STATE };
  const s = saved as Partial<WindowState>;
  if (!isInt(s.width) || !isInt(s.height)) return { ...DEFAULT_WINDOW_STATE };
  const state: WindowState = {
    width: Math.max(MIN.width, s.width),
    height: Math.max(MIN.height, s.height),
    maximized: s.maximized === true,
  };
  if (isInt(s.x) && isInt(s.y)) {
    const rect = { x: s.x, y: s.y, width: state.width, height: state.height };
    // Keep the place only when a good part of the title bar is on some display (monitors come and go).
    const visible = displays.some((d) => {
      const w = Math.min(rect.x + rect.width, d.x + d.width) - Math.max(rect.x, d.x);
      const h = Math.min(rect.y + 40, d.y + d.height) - Math.max(rect.y, d.y);
      return w >= 100 && h >= 20;
    });
    if (visible) {
      state.x = s.x;
      state.y = s.y;
    }
  }
  return state;
}

export function saveWindowState(db: Db, state: WindowState): void {
  db.prepare(
    `INSERT INTO settings (key, value) VALUES (?, ?)
     ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')`,
  ).run(WINDOW_STATE_KEY, JSON.stringify(state));
}

export interface TrackedWindow {
  on(event: 'resize' | 'move' | 'close' | 'maximize' | 'unmaximize', listener: () => void): unknown;
  getNormalBounds(): Rect;
  isMaximized(): boolean;
  isDestroyed(): boolean;
}

/** Saves the window's state when it stops moving/resizing (debounced) and when it closes. */
export function trackWindowState(win: TrackedWindow, db: () => Db | undefined, debounceMs = 500): { flush(): void } {
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const conn = db();
    if (!conn || !conn.open || win.isDestroyed()) return;
    const b = win.getNormalBounds();
    saveWindowState(conn, { x: b.x, y: b.y, width: b.width, height: b.height, maximized: win.isMaximized() });
  };
  const later = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(flush, debounceMs);
  };
  win.on('resize', later);
  win.on('move', later);
  win.on('maximize', later);
  win.on('unmaximize', later);
  win.on('close', flush);
  return { flush };
}
