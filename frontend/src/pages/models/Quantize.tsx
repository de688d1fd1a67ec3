import { useEffect, useState } from "react";
import { Layers, Loader2, X } from "lucide-react";
import { useQueryClient } from "@tanstack/react-query";

import { ErrorAlert } from "@/components/ErrorAlert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { $api, type Schemas } from "@/lib/api";
import { formatBytes } from "@/lib/format";
import { QUANT_TYPES, stageLabel } from "@/lib/quantize";
import { eventJson, streamEvents } from "@/lib/stream";

type Job = Schemas["QuantizationInfo"];

const ACTIVE = new Set(["queued", "running"]);

/** Checkboxes of the types; submits the chosen ones in the table's order. */
export function QuantizeForm({ model, pending, onSubmit }: { model: string; pending: boolean; onSubmit: (types: string[]) => void }) {
  const [chosen, setChosen] = useState<Set<string>>(new Set(["q4_k_m"]));
  const toggle = (name: string, on: boolean) =>
    setChosen((old) => {
      const next = new Set(old);
      if (on) next.add(name);
      else next.delete(name);
      return next;
    });
  return (
    <form
      aria-label={`Quantize ${model}`}
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit(QUANT_TYPES.map((t) => t.name).filter((n) => chosen.has(n)));
      }}
      className="space-y-3"
    >
      <fieldset className="grid grid-cols-2 gap-x-4 gap-y-1 text-sm">
        <legend className="mb-1 text-sm font-medium">Types</legend>
        {QUANT_TYPES.map((t) => (
          <label key={t.name} className="flex items-center gap-2" title={t.note}>
            <input type="checkbox" checked={chosen.has(t.name)} onChange={(e) => toggle(t.name, e.target.checked)} />
            <span className="font-mono">{t.name}</span>
            <span className="truncate text-xs text-muted-foreground">{t.note}</span>
          </label>
        ))}
      </fieldset>
      <Button type="submit" disabled={chosen.size === 0 || pending}>
        {pending ? <Loader2 className="animate-spin" /> : <Layers />} Quantize
      </Button>
    </form>
  );
}

/** Follows one job's SSE progress; the latest snapshot (the start answer until events come). */
export function useQuantizationProgress(start: Job | null): Job | null {
  const queryClient = useQueryClient();
  const [job, setJob] = useState<Job | null>(start);
  useEffect(() => {
    setJob(start);
    if (!start) return;
    const controller = new AbortController();
    void (async () => {
      try {
        const path = `/api/v1/quantizations/${encodeURIComponent(start.id)}/events`;
        for await (const ev of streamEvents(path, { signal: controller.signal })) {
          if (ev.event !== "progress") break;
          const next = eventJson<Job>(ev);
          setJob(next);
          if (!ACTIVE.has(next.status)) break;
        }
      } catch {
        // Aborted (dialog closed) or the stream broke: the jobs list's polling carries on.
      }
      void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/models"] });
      void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/quantizations"] });
    })();
    return () => controller.abort();
  }, [start, queryClient]);
  return job;
}

function JobProgress({ job }: { job: Job }) {
  return (
    <div className="space-y-1 text-sm" data-testid="quantize-progress" data-status={job.status}>
      <div className="flex items-center gap-2">
        <Badge variant={job.status === "failed" ? "destructive" : job.status === "completed" ? "secondary" : "outline"}>{job.status}</Badge>
        {ACTIVE.has(job.status) && <span>{stageLabel(job)}</span>}
        {job.bytes_written ? <span className="text-xs text-muted-foreground">{formatBytes(job.bytes_written)} written</span> : null}
      </div>
      <ul className="text-xs text-muted-foreground">
        {job.outputs.map((o) => (
          <li key={o.model_id}>
            <span className="font-mono">{o.model_id}</span>: {o.status}
            {o.status === "done" && o.size_bytes != null && o.bits_per_weight != null
              ? ` · ${formatBytes(o.size_bytes)} · ${o.bits_per_weight.toFixed(2)} bits/weight`
              : ""}
          </li>
        ))}
      </ul>
      {job.warning && <p className="text-xs text-amber-600 dark:text-amber-400">{job.warning}</p>}
      {job.error && <p className="text-xs text-destructive">{job.error}</p>}
    </div>
  );
}

/** The Quantize dialog of one model: the form, then the job's live progress. */
export function QuantizeDialog({ model, onClose }: { model: string | null; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [started, setStarted] = useState<Job | null>(null);
  const start = $api.useMutation("post", "/api/v1/models/{model_id}/quantize", {
    onSuccess: (job) => {
      setStarted(job);
      void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/quantizations"] });
    },
  });
  const job = useQuantizationProgress(started);
  const close = () => {
    setStarted(null);
    start.reset();
    onClose();
  };
  return (
    <Dialog open={model !== null} onOpenChange={(open) => !open && close()}>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>Quantize {model}</DialogTitle>
          <DialogDescription>
            Writes one <span className="font-mono">{"{name}-{type}.gguf"}</span> per type with llama.cpp (an HF folder is converted to f16 first).
          </DialogDescription>
        </DialogHeader>
        {model && !job && (
          <QuantizeForm
            model={model}
            pending={start.isPending}
            onSubmit={(types) => start.mutate({ params: { path: { model_id: model } }, body: { types } })}
          />
        )}
        <ErrorAlert error={start.error} title="Could not start the quantization" />
        {job && <JobProgress job={job} />}
      </DialogContent>
    </Dialog>
  );
}

/** Every quantization job, with cancel for running ones and forget for the rest. */
export function QuantizationsSection() {
  const queryClient = useQueryClient();
  const jobs = $api.useQuery("get", "/api/v1/quantizations", {}, {
    refetchInterval: (q) => (q.state.data?.data.some((j) => ACTIVE.has(j.status)) ? 2_000 : 15_000),
  });
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/quantizations"] });
    void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/models"] });
  };
  const cancel = $api.useMutation("post", "/api/v1/quantizations/{job_id}/cancel", { onSettled: refresh });
  const forget = $api.useMutation("delete", "/api/v1/quantizations/{job_id}", { onSettled: refresh });
  const list = jobs.data?.data ?? [];
  if (list.length === 0 && !jobs.error) return null;
  return (
    <Card>
      <CardHeader>
        <CardTitle className="text-base">Quantizations</CardTitle>
        <CardDescription>Jobs started with Quantize; their models appear above when done.</CardDescription>
      </CardHeader>
      <CardContent className="space-y-3">
        <ErrorAlert error={jobs.error ?? cancel.error ?? forget.error} title="Quantizations" />
        <ul className="space-y-3" aria-label="Quantization jobs">
          {list.map((job) => (
            <li key={job.id} className="rounded-lg border p-3" data-testid="quantize-job" data-status={job.status}>
              <div className="mb-1 flex items-center gap-2">
                <span className="font-medium">{job.model}</span>
                <div className="ml-auto flex gap-1">
                  {ACTIVE.has(job.status) && (
                    <Button variant="outline" size="sm" onClick={() => cancel.mutate({ params: { path: { job_id: job.id } } })}>
                      Cancel
                    </Button>
                  )}
                  <Button variant="ghost" size="sm" aria-label={`Remove quantization of ${job.model}`} onClick={() => forget.mutate({ params: { path: { job_id: job.id } } })}>
                    <X />
                  </Button>
                </div>
              </div>
              <JobProgress job={job} />
            </li>
          ))}
        </ul>
      </CardContent>
    </Card>
  );
}
