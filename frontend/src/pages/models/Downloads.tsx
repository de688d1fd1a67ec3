import { useEffect, useState } from "react";
import { Download, Pause, Play, X } from "lucide-react";
import { useQueryClient } from "@tanstack/react-query";

import { ErrorAlert } from "@/components/ErrorAlert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Progress } from "@/components/ui/progress";
import { $api, type Schemas } from "@/lib/api";
import { formatBytes, formatDuration } from "@/lib/format";
import { eventJson, streamEvents } from "@/lib/stream";

type Job = Schemas["DownloadJobInfo"];

const ACTIVE = new Set(["queued", "running"]);

export function splitList(text: string): string[] | undefined {
  const items = text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? items : undefined;
}

/**
 * Follows each active job's SSE `progress` events and writes them into the cached job list, so
 * bars, speed and ETA move live; polling stays as the fallback and picks up new jobs.
 */
function useLiveProgress(jobs: Job[]) {
  const queryClient = useQueryClient();
  const active = jobs
    .filter((j) => ACTIVE.has(j.status))
    .map((j) => j.id)
    .sort()
    .join(",");
  useEffect(() => {
    if (!active) return;
    const controller = new AbortController();
    for (const id of active.split(",")) {
      void (async () => {
        try {
          for await (const ev of streamEvents(`/api/v1/downloads/${encodeURIComponent(id)}/events`, { signal: controller.signal })) {
            if (ev.event !== "progress") break;
            const job = eventJson<Job>(ev);
            queryClient.setQueriesData<Schemas["DownloadList"]>({ queryKey: ["get", "/api/v1/downloads"] }, (old) =>
              old ? { ...old, data: old.data.map((j) => (j.id === job.id ? job : j)) } : old,
            );
            if (!ACTIVE.has(job.status)) {
              void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/models"] });
              break;
            }
          }
        } catch {
          // Aborted on unmount, or the stream broke: the list's polling carries on.
        }
      })();
    }
    return () => controller.abort();
  }, [active, queryClient]);
}

/** Start a download (Hub repo or .gguf URL) and follow every job's progress. */
export function DownloadsSection() {
  const queryClient = useQueryClient();
  const jobs = $api.useQuery("get", "/api/v1/downloads", {}, {
    // Live progress comes from the events stream (useLiveProgress); this poll is the fallback.
    refetchInterval: (q) => (q.state.data?.data.some((j) => ACTIVE.has(j.status)) ? 3_000 : 10_000),
  });
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/downloads"] });
    void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/models"] });
    void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/models/catalog"] });
  };
  const start = $api.useMutation("post", "/api/v1/downloads", { onSuccess: refresh });
  const cancel = $api.useMutation("post", "/api/v1/downloads/{job_id}/cancel", { onSettled: refresh });
  const resume = $api.useMutation("post", "/api/v1/downloads/{job_id}/resume", { onSettled: refresh });
  const forget = $api.useMutation("delete", "/api/v1/downloads/{job_id}", { onSettled: refresh });
  const [source, setSource] = useState("");
  const [files, setFiles] = useState("");
  const [name, setName] = useState("");
  const list = jobs.data?.data ?? [];
  useLiveProgress(list);
  const isUrl = /^https?:\/\//i.test(source.trim());

  return (
    <Card>
      <CardHeader>
        <CardTitle className="text-base">Downloads</CardTitle>
        <CardDescription>From the Hugging Face Hub (repo id) or a plain .gguf URL. Interrupted downloads resume where they stopped.</CardDescription>
      </CardHeader>
      <CardContent className="space-y-4">
        <form
          className="grid gap-3 md:grid-cols-[2fr_2fr_1fr_auto] md:items-end"
          onSubmit={(e) => {
            e.preventDefault();
            const body: Schemas["DownloadRequest"] = isUrl
              ? { url: source.trim(), name: name.trim() || undefined }
              : {
                  repo_id: source.trim(),
                  name: name.trim() || undefined,
                  ...(splitList(files)?.some((f) => /[*?[]/.test(f))
                    ? { allow_patterns: splitList(files) }
                    : { files: splitList(files) }),
                };
            start.mutate({ body }, { onSuccess: () => setSource("") });
          }}
        >
          <div className="space-y-1">
            <Label htmlFor="dl-source">Repo id or .gguf URL</Label>
            <Input id="dl-source" placeholder="e.g. Qwen/Qwen2.5-0.5B-Instruct" value={source} onChange={(e) => setSource(e.target.value)} />
          </div>
          <div className="space-y-1">
            <Label htmlFor="dl-files">Files or patterns</Label>
            <Input
              id="dl-files"
              placeholder="optional, e.g. *.gguf or model-q4_0.gguf"
              value={files}
              disabled={isUrl}
              onChange={(e) => setFiles(e.target.value)}
            />
          </div>
          <div className="space-y-1">
            <Label htmlFor="dl-name">Save as</Label>
            <Input id="dl-name" placeholder="optional id" value={name} onChange={(e) => setName(e.target.value)} />
          </div>
          <Button type="submit" disabled={!source.trim() || start.isPending}>
            <Download /> Download
          </Button>
        </form>
        <ErrorAlert error={start.error} title="Could not start the download" />
        <ErrorAlert error={jobs.error ?? cancel.error ?? resume.error ?? forget.error} title="Downloads" />
        {list.length === 0 ? (
          <p className="text-sm text-muted-foreground">No downloads yet. Pick a model in the catalog below or enter a repo id above.</p>
        ) : (
          <ul className="space-y-3" aria-label="Download jobs">
            {list.map((job) => (
              <JobRow
                key={job.id}
                job={job}
                onCancel={() => cancel.mutate({ params: { path: { job_id: job.id } } })}
                onResume={() => resume.mutate({ params: { path: { job_id: job.id } } })}
                onForget={() => forget.mutate({ params: { path: { job_id: job.id } } })}
              />
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}

function JobRow({ job, onCancel, onResume, onForget }: { job: Job; onCancel: () => void; onResume: () => void; onForget: () => void }) {
  const pct = job.status === "completed" ? 100 : job.progress != null ? Math.floor(job.progress * 100) : 0;
  const active = ACTIVE.has(job.status);
  return (
    <li className="rounded-lg border p-3" data-testid="download-job" data-status={job.status}>
      <div className="flex flex-wrap items-center gap-2">
        <span className="font-medium">{job.name}</span>
        <span className="truncate text-xs text-muted-foreground">{job.repo_id ?? job.url}</span>
        <Badge variant={job.status === "failed" ? "destructive" : job.status === "completed" ? "secondary" : "outline"}>{job.status}</Badge>
        <div className="ml-auto flex gap-1">
          {active && (
            <Button variant="outline" size="sm" onClick={onCancel}>
              <Pause /> Cancel
            </Button>
          )}
          {(job.status === "cancelled" || job.status === "failed") && (
            <Button variant="outline" size="sm" onClick={onResume}>
              <Play /> Resume
            </Button>
          )}
          <Button variant="ghost" size="sm" onClick={onForget} aria-label={`Remove download ${job.name}`}>
            <X />
          </Button>
        </div>
      </div>
      <Progress value={pct} className="mt-2" aria-label={`${job.name} download progress`} />
      <div className="mt-1 flex flex-wrap gap-x-4 text-xs text-muted-foreground">
        <span data-testid="download-percent">{pct}%</span>
        <span>
          {formatBytes(job.bytes_done)} / {formatBytes(job.bytes_total)}
        </span>
        {active && <span>{job.speed_bps ? `${formatBytes(job.speed_bps)}/s` : "–"}</span>}
        {active && <span>ETA {formatDuration(job.eta_s)}</span>}
        {active && job.current_file && <span className="truncate">{job.current_file}</span>}
        {job.status === "completed" && job.model_id && <span>ready as {job.model_id}</span>}
      </div>
      {job.error && <p className="mt-1 text-xs text-destructive">{job.error}</p>}
    </li>
  );
}
