import { useSyncExternalStore } from "react";

import { createPersistentStore, useStore } from "@/lib/store";

/** Below this window width the sidebar starts collapsed (icons only): at 800 px its 208 px left
 * the pages' tables too little room for their action buttons. */
export const COLLAPSE_BELOW_PX = 900;

/** The user's choice, once they have used the toggle; null until then (the width decides). */
export const sidebarStore = createPersistentStore<boolean | null>("mp.sidebarCollapsed", null, (raw) =>
  typeof raw === "boolean" ? raw : null,
);

/** Collapsed or not: the remembered choice wins, else collapsed below {@link COLLAPSE_BELOW_PX}. */
export function sidebarCollapsed(choice: boolean | null, width: number): boolean {
  return choice ?? width < COLLAPSE_BELOW_PX;
}

function subscribeWidth(listener: () => void) {
  globalThis.addEventListener?.("resize", listener);
  return () => globalThis.removeEventListener?.("resize", listener);
}

const narrow = () => sidebarCollapsed(null, globalThis.innerWidth ?? 1360);

/** [collapsed, toggle]: follows the window width until the user toggles, then remembers. */
export function useSidebar(): [boolean, () => void] {
  const choice = useStore(sidebarStore);
  const isNarrow = useSyncExternalStore(subscribeWidth, narrow, () => false);
  const collapsed = choice ?? isNarrow;
  return [collapsed, () => sidebarStore.set(!collapsed)];
}
