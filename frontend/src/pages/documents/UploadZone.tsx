import { useEffect, useRef, useState } from "react";
import { CheckCircle2, FileUp, Loader2, XCircle } from "lucide-react";
import { useQueryClient } from "@tanstack/react-query";

import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Progress } from "@/components/ui/progress";
import { errorMessage } from "@/lib/errors";
import { formatBytes } from "@/lib/format";
import { followJob, jobPercent, uploadFile, type IngestionJob } from "@/lib/rag";
import { isAbort } from "@/lib/stream";
import { cn } from "@/lib/utils";

interface UploadState {
  key: string;
  name: string;
  size: number;
  phase: "uploading" | "ingesting" | "ready" | "duplicate" | "failed";
  job?: IngestionJob;
  error?: string;
}

const ACCEPT = ".pdf,.txt,.md,.markdown,application/pdf,text/plain,text/markdown";

/** Drag-and-drop (or pick) several files; each is uploaded and followed through ingestion. */
export function UploadZone({ collectionId }: { collectionId: string }) {
  const queryClient = useQueryClient();
  const [items, setItems] = useState<UploadState[]>([]);
  const [tags, setTags] = useState("");
  const [over, setOver] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  // Progress streams end when the page goes away (ingestion itself goes on on the server).
  const streams = useRef(new AbortController());
  useEffect(() => {
    const controller = new AbortController();
    streams.current = controller;
    return () => controller.abort();
  }, []);

  const patch = (key: string, p: Partial<UploadState>) =>
    setItems((list) => list.map((it) => (it.key === key ? { ...it, ...p } : it)));
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/rag/documents"] });
    void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/rag/collections"] });
  };

  async function handle(file: File, key: string) {
    try {
      const item = await uploadFile(collectionId, file, tags);
      refresh();
      if (item.duplicate || !item.job_id) {
        patch(key, { phase: "duplicate" });
        return;
      }
      patch(key, { phase: "ingesting" });
      const last = await followJob(item.job_id, (job) => patch(key, { job }), streams.current.signal);
      if (last?.status === "succeeded") patch(key, { phase: "ready" });
      else patch(key, { phase: "failed", error: last?.error ?? "Ingestion stopped." });
    } catch (err) {
      if (isAbort(err)) return;
      patch(key, { phase: "failed", error: errorMessage(err) });
    } finally {
      refresh();
    }
  }

  function addFiles(files: FileList | File[]) {
    const list = Array.from(files);
    const fresh = list.map((f, i) => ({ key: `${Date.now()}-${i}-${f.name}`, name: f.name, size: f.size, phase: "uploading" as const }));
    setItems((prev) => [...fresh, ...prev].slice(0, 50));
    list.forEach((f, i) => void handle(f, fresh[i].key));
  }

  return (
    <div className="space-y-3">
      <div
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          if (e.dataTransfer.files.length) addFiles(e.dataTransfer.files);
        }}
        data-testid="dropzone"
        className={cn(
          "flex flex-col items-center justify-center gap-2 rounded-lg border-2 border-dashed p-6 text-center transition-colors",
          over ? "border-primary bg-primary/5" : "border-input",
        )}
      >
        <FileUp className="h-8 w-8 text-muted-foreground" aria-hidden />
        <p className="text-sm">
          Drop PDF, Markdown or text files here, or{" "}
          <label htmlFor="doc-files" className="cursor-pointer font-medium text-primary underline">
            choose files
          </label>
        </p>
        <input
          ref={inputRef}
          id="doc-files"
          type="file"
          multiple
          accept={ACCEPT}
          className="sr-only"
          onChange={(e) => {
            if (e.target.files?.length) addFiles(e.target.files);
            e.target.value = "";
          }}
        />
        <div className="flex items-center gap-2">
          <Label htmlFor="doc-tags" className="text-xs text-muted-foreground">
            Tags for new uploads
          </Label>
          <Input id="doc-tags" className="h-8 w-48" placeholder="comma separated" value={tags} onChange={(e) => setTags(e.target.value)} />
        </div>
      </div>
      {items.length > 0 && (
        <ul className="space-y-2" aria-label="Uploads">
          {items.map((it) => {
            const pct = it.phase === "ready" || it.phase === "duplicate" ? 100 : it.job ? jobPercent(it.job) : 0;
            return (
              <li key={it.key} className="rounded-md border p-2 text-sm" data-testid="upload-item" data-phase={it.phase}>
                <div className="flex items-center gap-2">
                  {it.phase === "ready" || it.phase === "duplicate" ? (
                    <CheckCircle2 className="h-4 w-4 text-green-600" aria-hidden />
                  ) : it.phase === "failed" ? (
                    <XCircle className="h-4 w-4 text-destructive" aria-hidden />
                  ) : (
                    <Loader2 className="h-4 w-4 animate-spin text-muted-foreground" aria-hidden />
                  )}
                  <span className="flex-1 truncate font-medium">{it.name}</span>
                  <span className="text-xs text-muted-foreground">{formatBytes(it.size)}</span>
                  <span className="w-56 text-right text-xs" data-testid="upload-status">
                    {it.phase === "uploading" && "uploading…"}
                    {it.phase === "ingesting" &&
                      (it.job
                        ? it.job.chunks_total
                          ? `embedding ${it.job.chunks_embedded}/${it.job.chunks_total} chunks`
                          : `parsing ${it.job.pages_parsed}/${it.job.pages_total || "?"} pages`
                        : "queued")}
                    {it.phase === "ready" && (it.job?.chunks_skipped ? `ready · ${it.job.chunks_skipped} contents ${it.job.chunks_skipped === 1 ? "chunk" : "chunks"} skipped` : "ready")}
                    {it.phase === "duplicate" && "ready (already uploaded)"}
                    {it.phase === "failed" && "failed"}
                  </span>
                </div>
                <Progress value={pct} className="mt-2 h-1.5" aria-label={`${it.name} progress`} />
                {it.error && <p className="mt-1 text-xs text-destructive">{it.error}</p>}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
