import { useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Download, Upload, X } from "lucide-react";

import { EmptyState } from "@/components/EmptyState";
import { PageHeader } from "@/components/Layout";
import { ErrorAlert } from "@/components/ErrorAlert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { Progress } from "@/components/ui/progress";
import { $api } from "@/lib/api";
import {
  ACTIVE,
  BATCH_ENDPOINTS,
  batchPercent,
  cancelBatch,
  downloadFile,
  startBatch,
  type Batch,
  type BatchEndpoint,
} from "@/lib/batches";

/** Batch jobs (OpenAI's Batch API): upload a JSONL file of requests, watch it run, download results. */
export function BatchesPage() {
  const qc = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [endpoint, setEndpoint] = useState<BatchEndpoint>("/v1/chat/completions");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const batches = $api.useQuery("get", "/v1/batches", { params: { query: { limit: 50 } } }, {
    refetchInterval: (q) => (q.state.data?.data.some((b) => ACTIVE.includes(b.status)) ? 1000 : false),
  });
  const refresh = () => qc.invalidateQueries({ queryKey: ["get", "/v1/batches"] });

  async function act(work: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await work();
      await refresh();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="mx-auto max-w-5xl space-y-4">
      <PageHeader title="Batches" description="OpenAI-style batch jobs: many requests from one JSONL file, run in the background." />
      <Card>
        <CardHeader>
          <CardTitle className="text-base">New batch</CardTitle>
        </CardHeader>
        <CardContent>
          <form
            className="flex flex-wrap items-end gap-3"
            onSubmit={(e) => {
              e.preventDefault();
              if (file) void act(() => startBatch(file, endpoint));
            }}
          >
            <div className="min-w-64 flex-1 space-y-1">
              <Label htmlFor="batch-file">Requests (JSONL: custom_id, method, url, body per line)</Label>
              <Input id="batch-file" type="file" accept=".jsonl,application/jsonl,text/plain"
                onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
            </div>
            <div className="space-y-1">
              <Label htmlFor="batch-endpoint">Endpoint</Label>
              <NativeSelect id="batch-endpoint" value={endpoint} onChange={(e) => setEndpoint(e.target.value as BatchEndpoint)}>
                {BATCH_ENDPOINTS.map((ep) => (
                  <option key={ep} value={ep}>{ep}</option>
                ))}
              </NativeSelect>
            </div>
            <Button type="submit" disabled={!file || busy}>
              <Upload /> Start batch
            </Button>
          </form>
        </CardContent>
      </Card>
      <ErrorAlert error={error} title="Batch request failed" />
      <ErrorAlert error={batches.error} title="Could not list batches" />
      {batches.data && batches.data.data.length === 0 && (
        <EmptyState title="No batches yet">Upload a JSONL file of requests to start one.</EmptyState>
      )}
      <ul className="space-y-3" aria-label="Batches">
        {batches.data?.data.map((b) => (
          <BatchRow key={b.id} batch={b} busy={busy} onCancel={() => act(() => cancelBatch(b.id))} onError={setError} />
        ))}
      </ul>
    </div>
  );
}

function BatchRow({ batch: b, busy, onCancel, onError }: {
  batch: Batch; busy: boolean; onCancel: () => void; onError: (e: unknown) => void;
}) {
  const { total, completed, failed } = b.request_counts;
  const save = (id: string, name: string) => downloadFile(id, name).catch(onError);
  return (
    <li data-testid="batch-row" className="rounded-lg border bg-card p-3">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <div className="flex items-center gap-2">
          <code className="text-xs">{b.id}</code>
          <Badge variant={b.status === "completed" ? "default" : "secondary"} data-testid="batch-status">{b.status}</Badge>
          <span className="text-xs text-muted-foreground">{b.endpoint}</span>
        </div>
        <div className="flex gap-1">
          {ACTIVE.includes(b.status) && b.status !== "cancelling" && (
            <Button variant="ghost" size="sm" onClick={onCancel} disabled={busy}>
              <X /> Cancel
            </Button>
          )}
          {b.output_file_id && (
            <Button variant="outline" size="sm" onClick={() => save(b.output_file_id!, `${b.id}_output.jsonl`)}>
              <Download /> Results
            </Button>
          )}
          {b.error_file_id && (
            <Button variant="outline" size="sm" onClick={() => save(b.error_file_id!, `${b.id}_errors.jsonl`)}>
              <Download /> Errors
            </Button>
          )}
        </div>
      </div>
      <Progress className="mt-2" value={batchPercent(b)} aria-label={`Progress of ${b.id}`} />
      <p className="mt-1 text-xs text-muted-foreground" data-testid="batch-counts">
        {completed} done, {failed} failed, {total} total
      </p>
    </li>
  );
}
