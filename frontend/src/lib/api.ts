import createFetchClient, { type Middleware } from "openapi-fetch";
import createQueryClient from "openapi-react-query";
import { QueryClient } from "@tanstack/react-query";

import type { components, paths } from "@/client/schema";
import { toApiError } from "@/lib/errors";
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

/** Paths whose POST takes a multipart form (file uploads). */
export type UploadPath = {
  [P in keyof paths]: paths[P] extends { post: { requestBody?: { content: { "multipart/form-data": unknown } } } } ? P : never;
}[keyof paths];

type JsonOf<R> = R extends { content: { "application/json": infer T } } ? T : never;
/** The JSON an upload path answers with (its 200, 201 or 202 response). */
export type UploadResult<P extends UploadPath> = paths[P] extends { post: { responses: infer R } }
  ? R extends { 200: infer OK }
    ? JsonOf<OK>
    : R extends { 201: infer Created }
      ? JsonOf<Created>
      : R extends { 202: infer Accepted }
        ? JsonOf<Accepted>
        : never
  : never;

type RawPost = (path: string, init: { body: FormData; bodySerializer: (b: FormData) => FormData }) => Promise<{
  data?: unknown;
  error?: unknown;
  response: Response;
}>;

/**
 * Uploads files (and form fields) as multipart through the API client, so the upload gets
 * what every API call gets: the configured API base, the session token, the CSRF header, and a
 * 401 that ends the session. Fields left undefined are not sent. Throws the server's error.
 */
export async function upload<P extends UploadPath>(
  path: P,
  fields: Record<string, string | Blob | undefined>,
): Promise<UploadResult<P>> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) form.append(name, value);
  // The generated types describe each form's fields; the body is built here, so it goes as is.
  const post = client.POST as unknown as RawPost;
  const { data, error, response } = await post(path, { body: form, bodySerializer: (b) => b });
  if (error !== undefined || data === undefined) throw toApiError(error, response.status);
  return data as UploadResult<P>;
}
