/**
 * Saving files through the browser: API downloads are fetched with the API key or session token
 * (a plain link could not send it), then handed to the browser as an object URL.
 */
import { toApiError } from "@/lib/errors";
import { apiUrl, authHeaders } from "@/lib/settings";

/** Saves a blob under `name` through a temporary link. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  // Revoked later, not at once: some browsers read the URL after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Saves text made in the page (e.g. a comparison export). */
export function saveText(name: string, text: string, type: string): void {
  saveBlob(new Blob([text], { type }), name);
}

/**
 * Fetches an API path and saves its body. The file name is the server's Content-Disposition
 * name when it sends one, else `fallbackName`. A failed request throws the API's error.
 */
export async function downloadFromApi(path: string, fallbackName: string): Promise<void> {
  const res = await fetch(apiUrl(path), { headers: authHeaders() });
  if (!res.ok) throw toApiError(await res.json().catch(() => null), res.status);
  const name = /filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") ?? "")?.[1] ?? fallbackName;
  saveBlob(await res.blob(), name);
}
