import { useMemo } from "react";

import { reviveParams, type SamplingParams } from "@/lib/params";
import { settingsStore, useSettings } from "@/lib/settings";
import { createPersistentStore, useStore, type PersistentStore } from "@/lib/store";

const stores = new Map<string, PersistentStore<SamplingParams>>();

/** A page's own parameters (kept across reloads), starting from the Settings defaults. */
export function pageParamsStore(page: string): PersistentStore<SamplingParams> {
  let store = stores.get(page);
  if (!store) {
    const defaults = settingsStore.get().defaults;
    store = createPersistentStore<SamplingParams>(`mp.params.${page}`, defaults, (raw) => reviveParams(raw, defaults));
    stores.set(page, store);
  }
  return store;
}

export function usePageParams(page: string) {
  const store = useMemo(() => pageParamsStore(page), [page]);
  const params = useStore(store);
  const { defaults } = useSettings();
  return { params, setParams: (p: SamplingParams) => store.set(p), defaults };
}
