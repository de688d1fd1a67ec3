import { useEffect } from "react";
import { QueryClientProvider } from "@tanstack/react-query";
import { BrowserRouter, Route, Routes } from "react-router-dom";

import { Layout } from "@/components/Layout";
import { queryClient } from "@/lib/api";
import { applyTheme, useSettings } from "@/lib/settings";
import { BatchesPage } from "@/pages/Batches";
import { ComparePage } from "@/pages/Compare";
import { DocumentsPage } from "@/pages/Documents";
import { ModelsPage } from "@/pages/Models";
import { NotFoundPage } from "@/pages/NotFound";
import { PlaygroundPage } from "@/pages/Playground";
import { SettingsPage } from "@/pages/Settings";

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
            <Route path="models" element={<ModelsPage />} />
            <Route path="batches" element={<BatchesPage />} />
            <Route path="settings" element={<SettingsPage />} />
            <Route path="*" element={<NotFoundPage />} />
          </Route>
        </Routes>
      </BrowserRouter>
    </QueryClientProvider>
  );
}
