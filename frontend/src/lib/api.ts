import createFetchClient, { type Middleware } from "openapi-fetch";
import createQueryClient from "openapi-react-query";
import { QueryClient } from "@tanstack/react-query";

import type { components, paths } from "@/client/schema";
import { endSession, sessionStore, sessionToken } from "@/lib/session";
import { settingsStore } from "@/lib/settings";

/** Header the server accepts as proof that a state-changing request comes from this UI. */
export const CSRF_HEADER = "X-Requested-With";

/** Schemas of the backend, generated from its OpenAPI document (scripts/gen-client.sh). */
export type Schemas = components["schemas"];

// The generated client is created once against the page's origin; this middleware points it at
// the configured API base and adds the session token, so changes apply without a reload. A 401
// while a token was sent means the session expired (or its key was revoked): it is dropped and
// the login form comes back saying so.
const settingsMiddleware: Middleware = {
  onRequest({ request }) {
    const { apiBase } = settingsStore.get();
    let req = request;
    if (apiBase) {
      const url = new URL(request.url);
      req = new Request(`${apiBase}${url.pathname}${url.search}`, request);
    }
    const token = sessionToken();
    if (token) req.headers.set("Authorization", `Bearer ${token}`);
    else if (sessionStore.get().token) expire(); // past its expiry: ask to log in again
    // The server refuses cross-site form-like requests (CSRF); this header, which a foreign
    // page cannot send without a CORS preflight, marks ours (multipart uploads included).
    req.headers.set(CSRF_HEADER, "playground");
    return req;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && request.headers.has("Authorization")) expire();
    return response;
  },
};

function expire() {
  endSession(true);
  void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/auth/status"] });
}

export const client = createFetchClient<paths>({ baseUrl: globalThis.location?.origin ?? "http://localhost" });
client.use(settingsMiddleware);

/** TanStack Query hooks over the generated client: $api.useQuery("get", "/api/v1/models"). */
export const $api = createQueryClient(client);

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: { retry: 1, refetchOnWindowFocus: false, staleTime: 2_000 },
  },
});
