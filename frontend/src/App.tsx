import { useEffect } from "react";
import { QueryClientProvider } from "@tanstack/react-query";
import { BrowserRouter, Route, Routes } from "react-router-dom";

import { Layout } from "@/components/Layout";
import { queryClient } from "@/lib/api";
import { lazyPage } from "@/lib/lazyPage";
import { applyTheme, useSettings } from "@/lib/settings";

// One chunk per route, fetched on first visit (keeps the entry bundle small).
const PlaygroundPage = lazyPage(() => import("@/pages/Playground"), "PlaygroundPage");
const ComparePage = lazyPage(() => import("@/pages/Compare"), "ComparePage");
const DocumentsPage = lazyPage(() => import("@/pages/Documents"), "DocumentsPage");
const ModelsPage = lazyPage(() => import("@/pages/Models"), "ModelsPage");
const SettingsPage = lazyPage(() => import("@/pages/Settings"), "SettingsPage");
const RagLabPage = lazyPage(() => import("@/pages/RagLab"), "RagLabPage");
const BatchesPage = lazyPage(() => import("@/pages/Batches"), "BatchesPage");
const PromptRunsPage = lazyPage(() => import("@/pages/PromptRuns"), "PromptRunsPage");
const NotFoundPage = lazyPage(() => import("@/pages/NotFound"), "NotFoundPage");

export function App() {
  const { theme } = useSettings();
  useEffect(() => applyTheme(theme), [theme]);
  return (
    <QueryClientProvider client={queryClient}>
      <BrowserRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
        <Routes>
          <Route element={<Layout />}>
            <Route index element={<PlaygroundPage />} />
            <Route path="compare" element={<ComparePage />} />
            <Route path="documents" element={<DocumentsPage />} />
            <Route path="rag-lab" element={<RagLabPage />} />
            <Route path="models" element={<ModelsPage />} />
            <Route path="batches" element={<BatchesPage />} />
            <Route path="prompt-runs" element={<PromptRunsPage />} />
            <Route path="settings" element={<SettingsPage />} />
            <Route path="*" element={<NotFoundPage />} />
          </Route>
        </Routes>
      </BrowserRouter>
    </QueryClientProvider>
  );
}
