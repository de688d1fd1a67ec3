import { useSyncExternalStore } from "react";

/** A tiny observable value persisted in localStorage (settings, conversations, compare runs), or
 * in another Storage (the login session lives in sessionStorage). */
export interface PersistentStore<T> {
  get(): T;
  set(next: T | ((prev: T) => T)): void;
  reset(): void;
  subscribe(listener: () => void): () => void;
}

export function createPersistentStore<T>(
  key: string,
  initial: T,
  revive?: (raw: unknown) => T,
  storage: () => Storage | undefined = () => globalThis.localStorage,
): PersistentStore<T> {
  const listeners = new Set<() => void>();
  let value = load();

  function load(): T {
    try {
      const raw = storage()?.getItem(key);
      if (raw == null) return initial;
      const parsed = JSON.parse(raw) as unknown;
      return revive ? revive(parsed) : (parsed as T);
    } catch {
      // Corrupt or foreign data: start fresh rather than break the page.
      return initial;
    }
  }

  function write(next: T) {
    value = next;
    try {
      storage()?.setItem(key, JSON.stringify(next));
    } catch {
      // Quota exceeded or storage disabled: keep the in-memory value.
    }
    listeners.forEach((l) => l());
  }

  return {
    get: () => value,
    set(next) {
      write(typeof next === "function" ? (next as (prev: T) => T)(value) : next);
    },
    reset() {
      storage()?.removeItem(key);
      value = initial;
      listeners.forEach((l) => l());
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export function useStore<T>(store: PersistentStore<T>): T {
  return useSyncExternalStore(store.subscribe, store.get, store.get);
}
