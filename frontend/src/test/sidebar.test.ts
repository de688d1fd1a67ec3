import { describe, expect, it } from "vitest";

import { sidebarCollapsed, sidebarStore } from "@/lib/sidebar";

describe("sidebar", () => {
  it("starts collapsed below 900 px until the user chooses, then remembers the choice", () => {
    expect(sidebarCollapsed(null, 800)).toBe(true);
    expect(sidebarCollapsed(null, 1360)).toBe(false);
    expect(sidebarCollapsed(false, 800)).toBe(false);
    expect(sidebarCollapsed(true, 1360)).toBe(true);
    sidebarStore.set(false);
    expect(JSON.parse(localStorage.getItem("mp.sidebarCollapsed")!)).toBe(false);
    sidebarStore.reset();
    expect(sidebarStore.get()).toBeNull();
  });
});
