import { useEffect, useState } from "react";
import { useSearchParams } from "react-router-dom";
import { useQueryClient } from "@tanstack/react-query";
import { Download, Play, Plus, RotateCw, ThumbsDown, ThumbsUp, Trash2, X } from "lucide-react";

import { BarChart } from "@/components/BarChart";
import { DistributionChart } from "@/components/DistributionChart";
import { EmptyState } from "@/components/EmptyState";
import { ErrorAlert } from "@/components/ErrorAlert";
import { PageHeader } from "@/components/Layout";
import { ModelPicker } from "@/components/ModelPicker";
import { ParamsCard } from "@/components/ParamsForm";
import { TextareaField } from "@/components/TextareaField";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Progress } from "@/components/ui/progress";
import { $api } from "@/lib/api";
import { fillTargets } from "@/lib/compare";
import { formatMs, formatRate } from "@/lib/format";
import {
  ACTIVE_RUN,
  MAX_MODELS,
  MIN_MODELS,
  applyEvent,
  cancelRun,
  cellGrid,
  distributions,
  downloadExport,
  passRates,
  rateCell,
  rerunRun,
  runConfig,
  runPercent,
  startRun,
  type PromptRun,
  type RunCell,
  type RunEvent,
  type RunTarget,
  type Thumb,
} from "@/lib/promptRuns";
import { eventJson, isAbort, streamEvents } from "@/lib/stream";
import { usePageParams } from "@/lib/usePageParams";

const EXAMPLE = `{"prompt": "What is the capital of France? One word.", "contains": "Paris"}
{"prompt": "Reply with JSON: is 7 prime?", "json_schema": {"type": "object", "properties": {"prime": {"type": "boolean"}}, "required": ["prime"]}}`;

/** Prompt-set runs: many prompts on 2-6 models, checked automatically and rated by hand. */
export function PromptRunsPage() {
  const [search, setSearch] = useSearchParams();
  const selected = search.get("run");
  const runs = $api.useQuery("get", "/api/v1/arena/runs", {}, {
    refetchInterval: (q) => (q.state.data?.data.some((r) => ACTIVE_RUN.includes(r.status)) ? 1500 : false),
  });
  const open = (id: string) => setSearch({ run: id });
  return (
    <div className="mx-auto max-w-6xl space-y-4">
      <PageHeader title="Prompt sets" description="Run a set of prompts on several models as a background job; compare speed, checks and your ratings." />
      <NewRun onStarted={open} />
      <ErrorAlert error={runs.error} title="Could not list runs" />
      {runs.data && runs.data.data.length === 0 && (
        <EmptyState title="No runs yet">Paste or upload a prompt set above to start one.</EmptyState>
      )}
      {!!runs.data?.data.length && (
        <ul className="flex flex-wrap gap-2" aria-label="Runs">
          {runs.data.data.map((r) => (
            <li key={r.id}>
              <Button variant={r.id === selected ? "default" : "outline"} size="sm" onClick={() => open(r.id)} data-testid="run-item">
                {r.name} <Badge variant="secondary">{r.status}</Badge>
              </Button>
            </li>
          ))}
        </ul>
      )}
      {selected && <RunView id={selected} onOpen={open} />}
    </div>
  );
}

function NewRun({ onStarted }: { onStarted: (id: string) => void }) {
  const qc = useQueryClient();
  const { params, setParams, defaults } = usePageParams("prompt-runs");
  const [targets, setTargets] = useState<RunTarget[]>([{ model: "" }, { model: "" }]);
  const [text, setText] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const setTarget = (i: number, patch: Partial<RunTarget>) =>
    setTargets((ts) => ts.map((t, j) => (j === i ? { ...t, ...patch } : t)));
  // Empty slots get distinct models (the server's default first), so a run compares models.
  const models = $api.useQuery("get", "/api/v1/models");
  useEffect(() => {
    if (models.data) setTargets((ts) => fillTargets(ts, models.data.local.map((m) => m.id), models.data.default_model));
  }, [models.data, targets.length]);
  const ready = targets.every((t) => t.model) && (file || text.trim());

  async function start() {
    setBusy(true);
    setError(null);
    try {
      const run = await startRun(runConfig(name, targets, params), file ? { file } : { text });
      await qc.invalidateQueries({ queryKey: ["get", "/api/v1/arena/runs"] });
      onStarted(run.id);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="grid gap-4 lg:grid-cols-[1fr_20rem]">
      <Card>
        <CardHeader>
          <CardTitle className="text-base">New run</CardTitle>
        </CardHeader>
        <CardContent className="space-y-3">
          <TextareaField
            id="pr-text"
            label="Prompt set (JSONL or CSV: prompt, and optional system, expected, contains, regex, json_schema)"
            rows={5}
            value={text}
            placeholder={EXAMPLE}
            onChange={(e) => setText(e.target.value)}
            disabled={!!file}
          />
          <div className="flex flex-wrap items-end gap-3">
            <div className="min-w-64 flex-1 space-y-1">
              <Label htmlFor="pr-file">Or upload a file (.jsonl, .csv)</Label>
              <Input id="pr-file" type="file" accept=".jsonl,.csv,text/csv,application/jsonl,text/plain"
                onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
            </div>
            <div className="space-y-1">
              <Label htmlFor="pr-name">Name</Label>
              <Input id="pr-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="optional" />
            </div>
          </div>
          {targets.map((t, i) => (
            <div key={i} className="flex items-end gap-2">
              <div className="flex-1">
                <ModelPicker id={`pr-model-${i}`} label={`Model ${i + 1}`} model={t.model}
                  onModel={(model) => setTarget(i, { model })} autoPick={false} backend={t.backend} onBackend={(backend) => setTarget(i, { backend })} />
              </div>
              <Button variant="ghost" size="icon" aria-label={`Remove model ${i + 1}`} disabled={targets.length <= MIN_MODELS}
                onClick={() => setTargets((ts) => ts.filter((_, j) => j !== i))}>
                <Trash2 />
              </Button>
            </div>
          ))}
          <div className="flex gap-2">
            <Button variant="outline" size="sm" disabled={targets.length >= MAX_MODELS} onClick={() => setTargets((ts) => [...ts, { model: "" }])}>
              <Plus /> Add model
            </Button>
            <Button onClick={() => void start()} disabled={!ready || busy}>
              <Play /> Start run
            </Button>
          </div>
          <ErrorAlert error={error} title="Could not start the run" />
        </CardContent>
      </Card>
      <ParamsCard idPrefix="pr" value={params} onChange={setParams} defaults={defaults} />
    </div>
  );
}

function RunView({ id, onOpen }: { id: string; onOpen: (id: string) => void }) {
  const qc = useQueryClient();
  const key = ["get", "/api/v1/arena/runs/{run_id}", { params: { path: { run_id: id } } }];
  const query = $api.useQuery("get", "/api/v1/arena/runs/{run_id}", { params: { path: { run_id: id } } });
  const [error, setError] = useState<unknown>(null);
  const run = query.data;
  const active = !!run && ACTIVE_RUN.includes(run.status);

  // Live progress: cells arrive over SSE; at the end the whole run (summaries) is read again.
  useEffect(() => {
    if (!active) return;
    const ctl = new AbortController();
    void (async () => {
      try {
        for await (const ev of streamEvents(`/api/v1/arena/runs/${encodeURIComponent(id)}/events`, { signal: ctl.signal })) {
          if (ev.event === "progress") {
            const data = eventJson<RunEvent>(ev);
            qc.setQueryData<PromptRun>(key, (old) => (old ? applyEvent(old, data) : old));
          }
        }
        await qc.invalidateQueries({ queryKey: key });
        await qc.invalidateQueries({ queryKey: ["get", "/api/v1/arena/runs"] });
      } catch (e) {
        if (!isAbort(e)) setError(e);
      }
    })();
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id, active]);

  async function act(work: () => Promise<unknown>) {
    setError(null);
    try {
      await work();
      await qc.invalidateQueries({ queryKey: key });
    } catch (e) {
      setError(e);
    }
  }

  if (query.error) return <ErrorAlert error={query.error} title="Could not read the run" />;
  if (!run) return null;
  return (
    <section className="space-y-4" aria-label={`Run ${run.name}`}>
      <Card>
        <CardContent className="space-y-2 pt-6">
          <div className="flex flex-wrap items-center justify-between gap-2">
            <div className="flex items-center gap-2">
              <h2 className="text-lg font-semibold">{run.name}</h2>
              <Badge data-testid="run-status">{run.status}</Badge>
              <span className="text-xs text-muted-foreground">seed {run.manifest.seed}</span>
            </div>
            <div className="flex flex-wrap gap-1">
              {active && (
                <Button variant="ghost" size="sm" onClick={() => void act(() => cancelRun(id))}>
                  <X /> Cancel
                </Button>
              )}
              <Button variant="outline" size="sm" onClick={() => void act(async () => onOpen((await rerunRun(id)).id))}>
                <RotateCw /> Re-run
              </Button>
              <Button variant="outline" size="sm" onClick={() => void downloadExport(id, "json").catch(setError)}>
                <Download /> JSON
              </Button>
              <Button variant="outline" size="sm" onClick={() => void downloadExport(id, "csv").catch(setError)}>
                <Download /> CSV
              </Button>
            </div>
          </div>
          <Progress value={runPercent(run)} aria-label="Run progress" />
          <p className="text-xs text-muted-foreground" data-testid="run-counts">
            {run.progress.completed} done, {run.progress.failed} failed, {run.progress.total} cells
          </p>
          {!!run.manifest.changed_models?.length && (
            <p className="text-xs text-amber-600">Changed since the original run: {run.manifest.changed_models.join(", ")}</p>
          )}
        </CardContent>
      </Card>
      <ErrorAlert error={error} title="Request failed" />
      <Summaries run={run} />
      <Card>
        <CardHeader>
          <CardTitle className="text-base">Charts</CardTitle>
        </CardHeader>
        <CardContent className="grid gap-4 md:grid-cols-3" data-testid="run-charts">
          <DistributionChart title="Tokens/s per cell" data={distributions(run, "tokens_per_s")} format={formatRate} />
          <DistributionChart title="TTFT per cell" data={distributions(run, "ttft_ms")} format={formatMs} />
          <BarChart title="Pass rate per check (%)" data={passRates(run)} format={(v) => `${Math.round(v)}%`} />
        </CardContent>
      </Card>
      <Grid run={run} onRate={(cell, thumb) => act(() => rateCell(id, cell.row, cell.model, thumb))} />
    </section>
  );
}

function Summaries({ run }: { run: PromptRun }) {
  return (
    <div className="overflow-x-auto rounded-lg border">
      <table className="w-full text-sm" aria-label="Per-model summary">
        <thead className="bg-muted/50 text-left text-xs">
          <tr>
            {["Model", "Backend", "Done", "Failed", "Median TTFT", "Median tok/s", "Tokens", "Checks", "Thumbs"].map((h) => (
              <th key={h} className="px-2 py-1">{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {run.summaries.map((s, i) => (
            <tr key={s.model} className="border-t">
              <td className="px-2 py-1 font-medium">{s.model}</td>
              <td className="px-2 py-1">{run.manifest.models[i]?.backend ?? "–"}</td>
              <td className="px-2 py-1">{s.completed}</td>
              <td className="px-2 py-1">{s.failed}</td>
              <td className="px-2 py-1">{formatMs(s.median_ttft_ms)}</td>
              <td className="px-2 py-1">{formatRate(s.median_tokens_per_s)}</td>
              <td className="px-2 py-1">{s.completion_tokens}</td>
              <td className="px-2 py-1">{s.checks.map((c) => `${c.name} ${c.passed}/${c.total}`).join(", ") || "–"}</td>
              <td className="px-2 py-1">{s.thumbs_up} up · {s.thumbs_down} down</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Grid({ run, onRate }: { run: PromptRun; onRate: (cell: RunCell, thumb: Thumb | null) => void }) {
  const grid = cellGrid(run);
  return (
    <div className="overflow-x-auto rounded-lg border">
      <table className="w-full table-fixed text-sm" aria-label="Results grid">
        <thead className="bg-muted/50 text-left text-xs">
          <tr>
            <th className="w-56 px-2 py-1">Prompt</th>
            {run.models.map((m) => (
              <th key={m} className="px-2 py-1">{m}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {grid.map((cells, r) => (
            <tr key={r} className="border-t align-top" data-testid="grid-row">
              <td className="px-2 py-2 text-xs">
                <span className="font-semibold">{r + 1}.</span> {run.prompts[r].prompt}
              </td>
              {cells.map((cell, c) => (
                <td key={c} className="px-2 py-2">{cell && <Cell cell={cell} onRate={onRate} />}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Cell({ cell, onRate }: { cell: RunCell; onRate: (cell: RunCell, thumb: Thumb | null) => void }) {
  if (cell.status === "pending") return <span className="text-xs text-muted-foreground">pending…</span>;
  if (cell.status === "failed") return <p className="text-xs text-destructive" data-testid="cell-error">{cell.error}</p>;
  const thumb = (t: Thumb) => onRate(cell, cell.thumb === t ? null : t);
  return (
    <div className="space-y-1" data-testid="grid-cell">
      <pre className="max-h-32 overflow-auto whitespace-pre-wrap break-words rounded bg-muted/40 p-1 text-xs">{cell.text}</pre>
      <p className="text-[11px] text-muted-foreground">
        TTFT {formatMs(cell.ttft_ms)} · {formatRate(cell.tokens_per_s)} · {cell.completion_tokens} tok · {cell.finish_reason}
      </p>
      <div className="flex flex-wrap items-center gap-1">
        {(cell.checks ?? []).map((c) => (
          <Badge key={c.name} variant={c.passed ? "default" : "destructive"} title={c.detail ?? undefined} data-testid="check-badge">
            {c.name} {c.passed ? "pass" : "fail"}
          </Badge>
        ))}
        <Button variant={cell.thumb === "up" ? "default" : "ghost"} size="icon" className="h-6 w-6" aria-pressed={cell.thumb === "up"}
          aria-label={`Thumbs up: row ${cell.row}, ${cell.model}`} onClick={() => thumb("up")}>
          <ThumbsUp />
        </Button>
        <Button variant={cell.thumb === "down" ? "default" : "ghost"} size="icon" className="h-6 w-6" aria-pressed={cell.thumb === "down"}
          aria-label={`Thumbs down: row ${cell.row}, ${cell.model}`} onClick={() => thumb("down")}>
          <ThumbsDown />
        </Button>
      </div>
    </div>
  );
}
