import { type ComponentType, lazy, Suspense } from "react";

/** A route's page loaded on first visit (its own chunk), with a quiet placeholder meanwhile. */
export function lazyPage<K extends string>(
  load: () => Promise<{ [P in K]: ComponentType }>,
  name: K,
): ComponentType {
  const Page: ComponentType = lazy(() =>
    load().then((module) => ({ default: module[name] as ComponentType })),
  );
  return function LazyPage() {
    return (
      <Suspense fallback={<div className="p-6 text-sm text-muted-foreground">Loading…</div>}>
        <Page />
      </Suspense>
    );
  };
}
