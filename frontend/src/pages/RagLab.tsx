import { useEffect, useState } from "react";
import { Download, FlaskConical, Play, Upload, Wand2 } from "lucide-react";

import { BarChart } from "@/components/BarChart";
import { ErrorAlert } from "@/components/ErrorAlert";
import { PageHeader } from "@/components/Layout";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { Progress } from "@/components/ui/progress";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { Textarea } from "@/components/ui/textarea";
import { $api, client, upload } from "@/lib/api";
import {
  RETRIEVAL_MODES,
  defaultConfigs,
  drillChunkText,
  generateQuestions,
  generationStatus,
  metricRows,
  parseQuestionsJsonl,
  percent,
  questionsToJsonl,
  type DrillChunk,
  type QuestionProgress,
  type EvalConfig,
  type Evaluation,
  type RetrievalMode,
} from "@/lib/ragLab";

/** RAG lab: compare retrieval configurations on a knowledge base's own documents. */
export function RagLabPage() {
  const collections = $api.useQuery("get", "/api/v1/rag/collections");
  const [collection, setCollection] = useState("");
  const [questionsText, setQuestionsText] = useState("");
  const [configs, setConfigs] = useState<EvalConfig[]>(defaultConfigs().slice(0, 3));
  const [evaluationId, setEvaluationId] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState<QuestionProgress | null>(null);
  const [generated, setGenerated] = useState<string | null>(null);
  const models = $api.useQuery("get", "/api/v1/models");
  const defaultModel = models.data?.default_model;
  const list = collections.data;
  useEffect(() => {
    if (!collection && list?.length) setCollection(list[0].name);
  }, [collection, list]);

  const evaluation = $api.useQuery(
    "get",
    "/api/v1/rag/evaluations/{evaluation_id}",
    { params: { path: { evaluation_id: evaluationId ?? "" } } },
    {
      enabled: !!evaluationId,
      refetchInterval: (q) => (q.state.data && ["succeeded", "failed"].includes(q.state.data.status) ? false : 1000),
    },
  );

  async function run(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const uploadFile = (file: File) =>
    run(async () => {
      const data = await upload("/api/v1/rag/evaluations/questions/upload", { file });
      setQuestionsText(questionsToJsonl(data.questions));
    });

  const generate = () =>
    run(async () => {
      setGenerated(null);
      setProgress(null);
      try {
        const data = await generateQuestions({ collection, count: 10, seed: 0 }, setProgress);
        setQuestionsText(questionsToJsonl(data.questions));
        setGenerated(`${data.questions.length} questions written by ${data.model ?? "the default model"}: review them before running.`);
      } finally {
        setProgress(null);
      }
    });

  const start = () =>
    run(async () => {
      const questions = parseQuestionsJsonl(questionsText);
      const { data, error: err } = await client.POST("/api/v1/rag/evaluations", { body: { collection, questions, configurations: configs } });
      if (err) throw err;
      setEvaluationId(data.id);
    });

  const setConfig = (i: number, patch: Partial<EvalConfig>) => setConfigs((cs) => cs.map((c, j) => (j === i ? { ...c, ...patch } : c)));
  const current = evaluation.data as Evaluation | undefined;

  return (
    <div className="mx-auto max-w-7xl space-y-4">
      <PageHeader title="RAG lab" description="Compare chunking, retrieval mode and reranking on your own documents and questions." />
      <ErrorAlert error={error ?? collections.error} />
      <Card>
        <CardHeader className="pb-3">
          <CardTitle className="text-base">Questions</CardTitle>
        </CardHeader>
        <CardContent className="space-y-3">
          <div className="flex flex-wrap items-end gap-3">
            <div className="w-64 space-y-1">
              <Label htmlFor="lab-collection">Knowledge base</Label>
              <NativeSelect id="lab-collection" value={collection} onChange={(e) => setCollection(e.target.value)}>
                {(list ?? []).map((c) => (
                  <option key={c.id} value={c.name}>
                    {c.name}
                  </option>
                ))}
              </NativeSelect>
            </div>
            <Button variant="outline" asChild>
              <label htmlFor="lab-file" className="cursor-pointer">
                <Upload /> Upload JSONL / CSV
              </label>
            </Button>
            <input id="lab-file" type="file" accept=".jsonl,.json,.csv" className="sr-only" onChange={(e) => e.target.files?.[0] && uploadFile(e.target.files[0])} />
            <Button variant="outline" onClick={generate} disabled={busy || !collection} title="10 questions, one per sampled chunk, each labelled with its chunk's document and pages">
              <Wand2 /> Generate with {defaultModel ?? "the default model"}
            </Button>
          </div>
          {progress && (
            <div className="space-y-1" aria-label="Question generation progress" data-testid="generation-progress">
              <Progress value={(100 * progress.done) / Math.max(1, progress.total)} />
              <p className="text-xs text-muted-foreground">{generationStatus(progress)}</p>
            </div>
          )}
          {generated && !progress && <p className="text-xs text-muted-foreground" data-testid="generation-done">{generated}</p>}
          <Label htmlFor="lab-questions">One JSON object per line: question, document (file name), pages, text — review and edit before running</Label>
          <Textarea id="lab-questions" rows={6} className="font-mono text-xs" value={questionsText} onChange={(e) => setQuestionsText(e.target.value)} placeholder='{"question": "What pressure does the pump need?", "document": "pump.pdf", "pages": [4]}' />
        </CardContent>
      </Card>
      <Card>
        <CardHeader className="pb-3">
          <CardTitle className="text-base">Configurations</CardTitle>
        </CardHeader>
        <CardContent className="space-y-2">
          {configs.map((c, i) => (
            <div key={i} className="flex flex-wrap items-end gap-2" aria-label={`Configuration ${i + 1}`}>
              <Input aria-label="Name" className="w-40" value={c.name} onChange={(e) => setConfig(i, { name: e.target.value })} />
              <NativeSelect aria-label="Mode" value={c.mode} onChange={(e) => setConfig(i, { mode: e.target.value as RetrievalMode })}>
                {RETRIEVAL_MODES.map((m) => (
                  <option key={m.value} value={m.value}>
                    {m.label}
                  </option>
                ))}
              </NativeSelect>
              <Input aria-label="Chunk size" type="number" className="w-24" value={c.chunk_size} onChange={(e) => setConfig(i, { chunk_size: Number(e.target.value) })} />
              <Input aria-label="Overlap" type="number" className="w-20" value={c.chunk_overlap} onChange={(e) => setConfig(i, { chunk_overlap: Number(e.target.value) })} />
              <label className="flex items-center gap-1 text-sm">
                <input type="checkbox" checked={c.structure} onChange={(e) => setConfig(i, { structure: e.target.checked })} /> sections
              </label>
              <label className="flex items-center gap-1 text-sm">
                <input type="checkbox" checked={c.rerank} onChange={(e) => setConfig(i, { rerank: e.target.checked })} /> rerank
              </label>
              <Button variant="ghost" size="sm" onClick={() => setConfigs((cs) => cs.filter((_, j) => j !== i))} disabled={configs.length <= 1}>
                Remove
              </Button>
            </div>
          ))}
          <div className="flex gap-2 pt-2">
            <Button variant="outline" size="sm" disabled={configs.length >= 6} onClick={() => setConfigs((cs) => [...cs, { ...defaultConfigs()[0], name: `config ${cs.length + 1}` }])}>
              Add configuration
            </Button>
            <Button className="ml-auto" onClick={start} disabled={busy || !collection || !questionsText.trim()}>
              <Play /> Run evaluation
            </Button>
          </div>
        </CardContent>
      </Card>
      {current && <Results evaluation={current} />}
    </div>
  );
}

function Results({ evaluation }: { evaluation: Evaluation }) {
  const { rows, best } = metricRows(evaluation);
  const running = evaluation.status === "queued" || evaluation.status === "running";
  return (
    <Card>
      <CardHeader className="pb-3">
        <CardTitle className="flex items-center gap-2 text-base">
          <FlaskConical className="h-4 w-4" /> Results <span className="text-sm font-normal text-muted-foreground">({evaluation.status})</span>
        </CardTitle>
      </CardHeader>
      <CardContent className="space-y-4">
        {running && (
          <div className="space-y-1" aria-label="Evaluation progress">
            <Progress value={evaluation.progress * 100} />
            <p className="text-xs text-muted-foreground">{evaluation.stage}</p>
          </div>
        )}
        {evaluation.error && <ErrorAlert error={evaluation.error} title="The evaluation failed" />}
        {rows.length > 0 && (
          <>
            <BarChart title="hit@1" data={rows.map((r) => ({ label: r.name, value: r.hit1 }))} format={percent} />
            <Table aria-label="Metrics per configuration">
              <TableHeader>
                <TableRow>
                  {["Configuration", "hit@1", "hit@5", "MRR", "nDCG@5", "p50 ms", "p95 ms", "build s", "chunks"].map((h) => (
                    <TableHead key={h}>{h}</TableHead>
                  ))}
                </TableRow>
              </TableHeader>
              <TableBody>
                {rows.map((r) => (
                  <TableRow key={r.name} className={r.name === best ? "font-semibold" : ""}>
                    <TableCell>{r.name}</TableCell>
                    <TableCell>{percent(r.hit1)}</TableCell>
                    <TableCell>{percent(r.hit5)}</TableCell>
                    <TableCell>{r.mrr.toFixed(3)}</TableCell>
                    <TableCell>{r.ndcg5.toFixed(3)}</TableCell>
                    <TableCell>{r.p50.toFixed(1)}</TableCell>
                    <TableCell>{r.p95.toFixed(1)}</TableCell>
                    <TableCell>{r.buildS.toFixed(1)}</TableCell>
                    <TableCell>{r.chunks}</TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
            <div className="flex gap-2">
              {(["json", "csv"] as const).map((f) => (
                <Button key={f} variant="outline" size="sm" asChild>
                  <a href={`/api/v1/rag/evaluations/${evaluation.id}/export?format=${f}`} download>
                    <Download /> {f.toUpperCase()}
                  </a>
                </Button>
              ))}
            </div>
            <details>
              <summary className="cursor-pointer text-sm font-medium">Per-question drill-down</summary>
              <ul className="mt-2 space-y-2 text-sm">
                {(evaluation.questions ?? []).map((q, i) => (
                  <li key={i} className="rounded border p-2">
                    <p className="font-medium">{String(q.question)}</p>
                    {Object.entries(q.results as Record<string, { hit1: number; chunks: DrillChunk[] }>).map(([name, r]) => (
                      <p key={name} className="text-xs text-muted-foreground">
                        {name}: {r.chunks.map(drillChunkText).join(" · ")}
                      </p>
                    ))}
                  </li>
                ))}
              </ul>
            </details>
          </>
        )}
      </CardContent>
    </Card>
  );
}
