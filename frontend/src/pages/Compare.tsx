import { useEffect } from "react";
import { FileJson, FileText, Play, Plus, RefreshCw, Square, Trash2 } from "lucide-react";

import { ArenaPanel } from "@/components/arena/ArenaPanel";
import { LeaderboardView } from "@/components/arena/LeaderboardView";
import { BarChart } from "@/components/BarChart";
import { NoModels } from "@/components/EmptyState";
import { ErrorAlert } from "@/components/ErrorAlert";
import { PageHeader } from "@/components/Layout";
import { Markdown } from "@/components/Markdown";
import { ModelPicker } from "@/components/ModelPicker";
import { ModeTabs } from "@/components/ModeTabs";
import { ParamsCard } from "@/components/ParamsForm";
import { TextareaField } from "@/components/TextareaField";
import { SchemaBadge } from "@/components/tools/SchemaBadge";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Label } from "@/components/ui/label";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { Tabs, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { Textarea } from "@/components/ui/textarea";
import { useStreamingRun } from "@/hooks/useStreamingRun";
import { $api } from "@/lib/api";
import {
  exportJson,
  exportMarkdown,
  figureRows,
  fillTargets,
  newRun,
  runBlocker,
  streamCompare,
  type CompareRun,
  type CompareTarget,
} from "@/lib/compare";
import { saveText } from "@/lib/download";
import { formatMs, formatRate } from "@/lib/format";
import { createPersistentStore, useStore } from "@/lib/store";
import { isSendKey } from "@/lib/keys";
import { usePageParams } from "@/lib/usePageParams";

interface CompareSetup {
  targets: CompareTarget[];
  mode: "chat" | "completion";
  prompt: string;
  system: string;
  schema?: string;
}

const setupStore = createPersistentStore<CompareSetup>("mp.compare.setup", {
  targets: [
    { model: "", backend: "" },
    { model: "", backend: "" },
  ],
  mode: "chat",
  prompt: "",
  system: "",
});
const runStore = createPersistentStore<CompareRun | null>("mp.compare.run", null);

type CompareView = "side" | "arena" | "leaderboard";
const viewStore = createPersistentStore<CompareView>("mp.compare.view", "side");

function ViewTabs() {
  const view = useStore(viewStore);
  return (
    <Tabs value={view} onValueChange={(v) => viewStore.set(v as CompareView)}>
      <TabsList aria-label="Compare mode">
        <TabsTrigger value="side">Side by side</TabsTrigger>
        <TabsTrigger value="arena">Arena (blind)</TabsTrigger>
        <TabsTrigger value="leaderboard">Leaderboard</TabsTrigger>
      </TabsList>
    </Tabs>
  );
}

export function ComparePage() {
  const view = useStore(viewStore);
  if (view === "side") return <SideBySide />;
  return (
    <div className="mx-auto max-w-7xl">
      <PageHeader
        title="Compare"
        description={
          view === "arena"
            ? "Blind arena: two models drawn from the ones you pick answer; vote, then see who they were."
            : "Arena votes: Bradley-Terry ratings with 95% intervals, Elo, win rates and speed per model."
        }
      >
        <ViewTabs />
      </PageHeader>
      {view === "arena" ? <ArenaPanel /> : <LeaderboardView />}
    </div>
  );
}

function SideBySide() {
  const setup = useStore(setupStore);
  const run = useStore(runStore);
  const { params, setParams, defaults } = usePageParams("compare");
  const models = $api.useQuery("get", "/api/v1/models");
  const health = $api.useQuery("get", "/api/v1/health");
  const system = $api.useQuery("get", "/api/v1/system");
  // The run's state goes to the (persisted) run store as the columns stream.
  const stream = useStreamingRun<CompareRun>((r) => runStore.set(r));
  const busy = stream.busy;

  const patch = (p: Partial<CompareSetup>) => setupStore.set((s) => ({ ...s, ...p }));
  // Functional updates: two pickers changing in the same tick must not undo each other.
  const setTarget = (i: number, t: Partial<CompareTarget>) =>
    setupStore.set((s) => ({ ...s, targets: s.targets.map((x, j) => (j === i ? { ...x, ...t } : x)) }));
  const local = models.data?.local.map((m) => m.id);

  // A new page (or a model that is gone): fill the empty slots with distinct models, in the
  // stored setup itself, so what the pickers show is what Run sends.
  useEffect(() => {
    if (!models.data) return;
    const ids = models.data.local.map((m) => m.id);
    setupStore.set((s) => {
      const targets = fillTargets(s.targets, ids, models.data.default_model);
      return targets.every((t, i) => t === s.targets[i]) ? s : { ...s, targets };
    });
  }, [models.data]);

  async function start(from?: CompareRun) {
    const base = from
      ? newRun(from.columns.map((c) => c.target), from.mode, from.prompt, from.system, from.params, from.schema)
      : newRun(setup.targets, setup.mode, setup.prompt, setup.system, params, setup.schema);
    const used = new Set(base.columns.map((c) => c.target.backend).filter(Boolean));
    base.environment = {
      server_version: health.data?.version,
      backends: Object.fromEntries(
        (system.data?.backends ?? []).filter((b) => b.available && (used.size === 0 || used.has(b.name))).map((b) => [b.name, b.description]),
      ),
    };
    runStore.set(base);
    await stream.start(
      ({ signal, update }) => streamCompare(base, update, signal),
      (end) => {
        if (end.status === "done") runStore.set(end.value);
        // Columns still open when the stream ended were stopped (Stop button or error).
        runStore.set((r) =>
          r && {
            ...r,
            columns: r.columns.map((c) => (c.status === "streaming" || c.status === "waiting" ? { ...c, status: "stopped" } : c)),
          },
        );
      },
    );
  }

  const blocker = runBlocker(setup, local, busy);
  const canRun = !busy && blocker === null;
  const rows = run ? figureRows(run) : [];
  const stamp = run?.startedAt.replace(/[:.]/g, "-") ?? "";

  return (
    <div className="mx-auto max-w-7xl">
      <PageHeader title="Compare" description="One prompt, one set of parameters, 2-4 models side by side.">
        <ViewTabs />
        {run && (
          <>
            <Button variant="outline" size="sm" onClick={() => saveText(`compare-${stamp}.json`, exportJson(run), "application/json")}>
              <FileJson /> Export JSON
            </Button>
            <Button variant="outline" size="sm" onClick={() => saveText(`compare-${stamp}.md`, exportMarkdown(run), "text/markdown")}>
              <FileText /> Export Markdown
            </Button>
          </>
        )}
      </PageHeader>
      {models.data && models.data.local.length === 0 && <NoModels />}
      <div className="grid gap-4 lg:grid-cols-[1fr_20rem]">
        <Card>
          <CardContent className="space-y-3 pt-6">
            {setup.targets.map((t, i) => (
              <div key={i} className="flex items-end gap-2">
                <div className="flex-1">
                  <ModelPicker
                    id={`cmp-model-${i}`}
                    label={`Model ${i + 1}`}
                    model={t.model}
                    onModel={(model) => setTarget(i, { model })}
                    autoPick={false}
                    backend={t.backend}
                    onBackend={(backend) => setTarget(i, { backend })}
                  />
                </div>
                <Button
                  variant="ghost"
                  size="icon"
                  aria-label={`Remove model ${i + 1}`}
                  disabled={setup.targets.length <= 2}
                  onClick={() => patch({ targets: setup.targets.filter((_, j) => j !== i) })}
                >
                  <Trash2 />
                </Button>
              </div>
            ))}
            <Button
              variant="outline"
              size="sm"
              disabled={setup.targets.length >= 4}
              onClick={() => patch({ targets: fillTargets([...setup.targets, { model: "", backend: "" }], local ?? [], models.data?.default_model) })}
            >
              <Plus /> Add model
            </Button>
            <div className="flex items-center justify-between pt-2">
              <span className="text-sm font-medium">Input</span>
              <ModeTabs value={setup.mode} onChange={(mode) => patch({ mode })} />
            </div>
            {setup.mode === "chat" && (
              <TextareaField id="cmp-system" label="System prompt" rows={2} value={setup.system} onChange={(e) => patch({ system: e.target.value })} />
            )}
            <TextareaField
              id="cmp-schema"
              label="JSON schema (optional: every model must follow it)"
              rows={2}
              className="font-mono text-xs"
              value={setup.schema ?? ""}
              onChange={(e) => patch({ schema: e.target.value })}
            />
            <Label htmlFor="cmp-prompt" className="block">
              Prompt
            </Label>
            <Textarea
              id="cmp-prompt"
              rows={4}
              placeholder="Ask every model the same thing"
              value={setup.prompt}
              onChange={(e) => patch({ prompt: e.target.value })}
              onKeyDown={(e) => {
                // Chat mode: Enter runs, Shift+Enter is a new line (a completion prompt is raw text).
                if (setup.mode === "chat" && isSendKey(e)) {
                  e.preventDefault();
                  if (canRun) void start();
                }
              }}
            />
            {setup.mode === "chat" && <p className="text-xs text-muted-foreground">Enter runs, Shift+Enter adds a line.</p>}
            <div className="flex flex-wrap items-center gap-2">
              {busy ? (
                <Button key="stop" variant="destructive" onClick={stream.stop}>
                  <Square /> Stop
                </Button>
              ) : (
                <Button key="run" onClick={() => void start()} disabled={!canRun}>
                  <Play /> Run
                </Button>
              )}
              <Button variant="outline" onClick={() => run && void start(run)} disabled={busy || !run}>
                <RefreshCw /> Re-run
              </Button>
              {blocker && (
                <p className="text-sm text-muted-foreground" data-testid="run-blocker" role="status">
                  {blocker}
                </p>
              )}
            </div>
          </CardContent>
        </Card>
        <ParamsCard idPrefix="cmp" value={params} onChange={setParams} defaults={defaults} className="h-fit" />
      </div>

      <ErrorAlert error={stream.error} title="Compare failed" className="mt-4" />

      {run && (
        <>
          <div
            className="mt-4 grid gap-4"
            style={{ gridTemplateColumns: `repeat(auto-fit, minmax(min(100%, 16rem), 1fr))` }}
            data-testid="compare-columns"
          >
            {run.columns.map((c, i) => (
              <Card key={i} data-testid={`compare-column-${i}`} className="min-w-0">
                <CardHeader className="pb-2">
                  <CardTitle className="flex items-center justify-between gap-2 text-sm">
                    <span className="truncate">
                      {i + 1}. {c.target.model}
                    </span>
                    <span className="flex gap-1">
                      <SchemaBadge valid={c.schemaValid} error={c.schemaError} />
                      <Badge variant={c.status === "error" ? "destructive" : c.status === "done" ? "secondary" : "outline"}>
                        {c.status}
                      </Badge>
                    </span>
                  </CardTitle>
                  <div className="text-xs text-muted-foreground">
                    backend {c.response?.timings.backend ?? (c.target.backend || "auto")} · {c.response?.usage.completion_tokens ?? c.tokens} tokens
                  </div>
                </CardHeader>
                <CardContent>
                  {c.error ? (
                    <ErrorAlert error={c.error} title="This model failed" />
                  ) : c.text ? (
                    <Markdown text={c.text} />
                  ) : (
                    <span className="text-sm text-muted-foreground">{busy ? "Waiting for the first token…" : "No output"}</span>
                  )}
                </CardContent>
              </Card>
            ))}
          </div>
          <Card className="mt-4">
            <CardHeader>
              <CardTitle className="text-base">Figures</CardTitle>
            </CardHeader>
            <CardContent className="grid gap-6 xl:grid-cols-[1fr_auto]">
              <Table data-testid="compare-figures">
                <TableHeader>
                  <TableRow>
                    <TableHead>Model</TableHead>
                    <TableHead>Backend</TableHead>
                    <TableHead title="Time to first token, including loading the model when the run had to">TTFT</TableHead>
                    <TableHead title="Time spent loading the model (part of TTFT)">Load</TableHead>
                    <TableHead>Speed</TableHead>
                    <TableHead>Tokens</TableHead>
                    <TableHead>Total</TableHead>
                    <TableHead>Finish</TableHead>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {rows.map((r, i) => (
                    <TableRow key={i}>
                      <TableCell className="font-medium">
                        {i + 1}. {r.model}
                      </TableCell>
                      <TableCell>{r.backend}</TableCell>
                      <TableCell className="font-mono" data-testid="ttft-cell">
                        {formatMs(r.ttft_ms)}
                        {!!r.load_ms && r.load_ms >= 1 && <span className="block text-xs text-muted-foreground">incl. load</span>}
                      </TableCell>
                      <TableCell className="font-mono" data-testid="load-cell">
                        {r.load_ms != null && r.load_ms >= 1 ? formatMs(r.load_ms) : "–"}
                      </TableCell>
                      <TableCell className="font-mono">{formatRate(r.tokens_per_second)}</TableCell>
                      <TableCell className="font-mono">{r.completion_tokens}</TableCell>
                      <TableCell className="font-mono">{formatMs(r.total_ms)}</TableCell>
                      <TableCell>{r.error ? "error" : r.finish_reason}</TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
              <div className="grid gap-4 sm:grid-cols-2 xl:grid-cols-1">
                <BarChart
                  title="Time to first token without model loading (lower is better)"
                  data={rows.map((r, i) => ({ label: `${i + 1}. ${r.model}`, value: r.ttft_loaded_ms }))}
                  format={formatMs}
                />
                <BarChart
                  title="Tokens per second (higher is better)"
                  data={rows.map((r, i) => ({ label: `${i + 1}. ${r.model}`, value: r.tokens_per_second }))}
                  format={formatRate}
                />
              </div>
            </CardContent>
          </Card>
        </>
      )}
    </div>
  );
}
