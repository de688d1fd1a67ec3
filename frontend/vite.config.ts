/// <reference types="vitest/config" />
import path from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The FastAPI app serves the build at "/" (backend/app/web.py), so base stays "/".
// In development the API is proxied to the backend on 127.0.0.1:8000 (`bash scripts/run.sh`).
const api = process.env.MP_API_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/",
  plugins: [react()],
  resolve: { alias: { "@": path.resolve(import.meta.dirname, "src") } },
  server: {
    port: 5173,
    proxy: { "/api": api, "/v1": api, "/tokenize": api, "/detokenize": api, "/openapi.json": api },
  },
  build: {
    // One chunk per route and a lazy Markdown renderer (src/App.tsx, components/Markdown.tsx);
    // libraries in long-cached vendor chunks. scripts/check-bundle.mjs (run by `npm run build`)
    // fails when what the first page load needs grows past its limit.
    manifest: true,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: "vendor-react", test: /node_modules[\\/](react|react-dom|react-router|react-router-dom|scheduler)[\\/]/ },
            { name: "vendor-query", test: /node_modules[\\/]@tanstack[\\/]/ },
            { name: "vendor-radix", test: /node_modules[\\/]@radix-ui[\\/]/ },
          ],
        },
      },
    },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
