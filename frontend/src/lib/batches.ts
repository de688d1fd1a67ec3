import { client, upload, type Schemas } from "@/lib/api";
import { downloadFromApi } from "@/lib/download";
import { toApiError } from "@/lib/errors";

export type Batch = Schemas["Batch"];
export type BatchEndpoint = "/v1/chat/completions" | "/v1/completions" | "/v1/embeddings";
export const BATCH_ENDPOINTS: BatchEndpoint[] = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"];

/** Uploads a JSONL file (purpose=batch; the server checks every line) and starts a batch on it. */
export async function startBatch(file: File, endpoint: BatchEndpoint): Promise<Batch> {
  const uploaded = await upload("/v1/files", { purpose: "batch", file });
  const { data, error, response } = await client.POST("/v1/batches", {
    body: { input_file_id: uploaded.id, endpoint, completion_window: "24h" },
  });
  if (error || !data) throw toApiError(error, response.status);
  return data;
}

export async function cancelBatch(id: string): Promise<Batch> {
  const { data, error, response } = await client.POST("/v1/batches/{batch_id}/cancel", {
    params: { path: { batch_id: id } },
  });
  if (error || !data) throw toApiError(error, response.status);
  return data;
}

/** Saves a file's content (batch results or errors) through the browser's download. */
export async function downloadFile(fileId: string, name: string): Promise<void> {
  await downloadFromApi(`/v1/files/${encodeURIComponent(fileId)}/content`, name);
}

export const ACTIVE: Batch["status"][] = ["validating", "in_progress", "finalizing", "cancelling"];

/** Share of lines finished (completed or failed), 0-100. */
export function batchPercent(b: Batch): number {
  const { total, completed, failed } = b.request_counts;
  return total ? Math.round(((completed + failed) / total) * 100) : 0;
}
