import { sessionToken } from "@/lib/session";
import { createPersistentStore, useStore } from "@/lib/store";
import { FACTORY_PARAMS, reviveParams, type SamplingParams } from "@/lib/params";

export type Theme = "light" | "dark";

export interface Settings {
  /** API origin; empty means the page's own origin (the FastAPI app or Vite's proxy). */
  apiBase: string;
  defaults: SamplingParams;
  theme: Theme;
}

function systemTheme(): Theme {
  return globalThis.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export const DEFAULT_SETTINGS: Settings = { apiBase: "", defaults: FACTORY_PARAMS, theme: "light" };

export function reviveSettings(raw: unknown): Settings {
  const r = (raw && typeof raw === "object" ? raw : {}) as Partial<Record<keyof Settings, unknown>>;
  return {
    apiBase: typeof r.apiBase === "string" ? r.apiBase.replace(/\/+$/, "") : "",
    defaults: reviveParams(r.defaults),
    theme: r.theme === "dark" || r.theme === "light" ? r.theme : systemTheme(),
  };
}

export const settingsStore = createPersistentStore<Settings>(
  "mp.settings",
  { ...DEFAULT_SETTINGS, theme: systemTheme() },
  reviveSettings,
);
// Older versions kept a raw API key here; rewriting the settings drops it from localStorage.
if (globalThis.localStorage?.getItem("mp.settings")?.includes('"apiKey"')) settingsStore.set((s) => ({ ...s }));

export function useSettings(): Settings {
  return useStore(settingsStore);
}

export function updateSettings(patch: Partial<Settings>) {
  settingsStore.set((s) => ({ ...s, ...patch, apiBase: (patch.apiBase ?? s.apiBase).replace(/\/+$/, "") }));
}

export function applyTheme(theme: Theme) {
  document.documentElement.classList.toggle("dark", theme === "dark");
  document.documentElement.style.colorScheme = theme;
}

/** Absolute URL for an API path under the configured base. */
export function apiUrl(path: string): string {
  return `${settingsStore.get().apiBase}${path}`;
}

/** The session token's Authorization header (none when logged out). */
export function authHeaders(): Record<string, string> {
  const token = sessionToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}
