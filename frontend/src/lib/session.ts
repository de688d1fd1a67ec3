import { createPersistentStore, useStore } from "@/lib/store";

/** The login session: a short-lived session token the server issued for an API key. The key
 * itself is never stored; the token lives in sessionStorage (gone when the tab closes). */
export interface Session {
  token: string;
  /** Unix seconds the token stops working. */
  expiresAt: number;
  keyName: string;
  admin: boolean;
  /** Set when the server refused the token (expired or revoked): the login form says so. */
  expired: boolean;
}

export const NO_SESSION: Session = { token: "", expiresAt: 0, keyName: "", admin: false, expired: false };

function reviveSession(raw: unknown): Session {
  const r = (raw && typeof raw === "object" ? raw : {}) as Partial<Record<keyof Session, unknown>>;
  return {
    token: typeof r.token === "string" ? r.token : "",
    expiresAt: typeof r.expiresAt === "number" ? r.expiresAt : 0,
    keyName: typeof r.keyName === "string" ? r.keyName : "",
    admin: r.admin === true,
    expired: r.expired === true,
  };
}

export const sessionStore = createPersistentStore<Session>("mp.session", NO_SESSION, reviveSession, () => globalThis.sessionStorage);

export function useSession(): Session {
  return useStore(sessionStore);
}

/** The token to send, or "" when there is none or it has passed its expiry. */
export function sessionToken(now = Date.now() / 1000): string {
  const { token, expiresAt } = sessionStore.get();
  return token && expiresAt > now ? token : "";
}

export function startSession(token: string, expiresAt: number, keyName: string, admin: boolean) {
  sessionStore.set({ token, expiresAt, keyName, admin, expired: false });
}

/** Forget the token; ``expired`` makes the login form explain why it is back. */
export function endSession(expired = false) {
  sessionStore.set({ ...NO_SESSION, expired });
}
