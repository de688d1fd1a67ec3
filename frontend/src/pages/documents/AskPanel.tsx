import { useCallback, useState } from "react";
import { MessageCircleQuestion, Square } from "lucide-react";

import { ErrorAlert } from "@/components/ErrorAlert";
import { Figures } from "@/components/Figures";
import { Markdown } from "@/components/Markdown";
import { ModelPicker } from "@/components/ModelPicker";
import { ParamsForm } from "@/components/ParamsForm";
import { TextareaField } from "@/components/TextareaField";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { Switch } from "@/components/ui/switch";
import { useStreamingRun } from "@/hooks/useStreamingRun";
import { statsFrom, type ResponseStats } from "@/lib/conversation";
import { chunkFigures, chunkFiguresTitle, pageSpan, pageWords, streamAnswer, type Citation } from "@/lib/rag";
import { RETRIEVAL_MODES, type RetrievalMode } from "@/lib/ragLab";
import { usePageParams } from "@/lib/usePageParams";

/** Ask a question: streamed answer with clickable [n] citations, and the retrieved chunks. */
export function AskPanel({ collectionId }: { collectionId: string }) {
  const { params, setParams, defaults } = usePageParams("documents");
  const [model, setModel] = useState("");
  const [question, setQuestion] = useState("");
  const [topK, setTopK] = useState(5);
  const [mmr, setMmr] = useState(false);
  const [mode, setMode] = useState<RetrievalMode | "">("");
  const [answer, setAnswer] = useState("");
  const [citations, setCitations] = useState<Citation[]>([]);
  const [dropped, setDropped] = useState(0);
  const [stats, setStats] = useState<ResponseStats>();
  const [open, setOpen] = useState<Citation | null>(null);
  const stream = useStreamingRun<string>(setAnswer);
  const { busy, error } = stream;

  const onCite = useCallback((n: number) => setOpen(citations.find((c) => c.n === n) ?? null), [citations]);

  async function ask() {
    setAnswer("");
    setCitations([]);
    setStats(undefined);
    await stream.start(
      ({ signal, update }) =>
        streamAnswer(
          { collection: collectionId, question, model, topK, mmr, mode: mode || undefined, params },
          {
            sources: (c, d) => {
              setCitations(c);
              setDropped(d);
            },
            text: update,
          },
          signal,
        ),
      (end) => {
        if (end.status !== "done") return;
        setAnswer(end.value.answer.text);
        setCitations(end.value.citations);
        setStats(statsFrom(end.value.answer));
      },
    );
  }

  return (
    <div className="grid gap-4 xl:grid-cols-[1fr_22rem]">
      <Card className="min-w-0">
        <CardHeader className="pb-3">
          <CardTitle className="text-base">Ask</CardTitle>
        </CardHeader>
        <CardContent className="space-y-3">
          <form
            className="space-y-3"
            onSubmit={(e) => {
              e.preventDefault();
              if (!busy && question.trim()) void ask();
            }}
          >
            <ModelPicker id="rag-model" label="Answering model" model={model} onModel={setModel} />
            <TextareaField id="rag-question" label="Question" rows={2} value={question} onChange={(e) => setQuestion(e.target.value)} placeholder="What do the documents say about…?" />
            <div className="flex flex-wrap items-end gap-4">
              <div className="w-24 space-y-1">
                <Label htmlFor="rag-topk">Sources</Label>
                <Input id="rag-topk" type="number" min={1} max={20} value={topK} onChange={(e) => setTopK(Math.max(1, Math.min(20, Number(e.target.value) || 1)))} />
              </div>
              <div className="w-44 space-y-1">
                <Label htmlFor="rag-mode">Retrieval</Label>
                <NativeSelect id="rag-mode" value={mode} onChange={(e) => setMode(e.target.value as RetrievalMode | "")}>
                  <option value="">Knowledge base default</option>
                  {RETRIEVAL_MODES.map((m) => (
                    <option key={m.value} value={m.value}>
                      {m.label}
                    </option>
                  ))}
                </NativeSelect>
              </div>
              <div className="flex items-center gap-2 pb-2">
                <Switch id="rag-mmr" checked={mmr} onCheckedChange={setMmr} />
                <Label htmlFor="rag-mmr">Diverse sources (MMR)</Label>
              </div>
              <div className="ml-auto">
                {busy ? (
                  <Button key="stop" type="button" variant="destructive" onClick={stream.stop}>
                    <Square /> Stop
                  </Button>
                ) : (
                  <Button key="ask" type="submit" disabled={!question.trim()}>
                    <MessageCircleQuestion /> Ask
                  </Button>
                )}
              </div>
            </div>
          </form>
          <details className="rounded-md border px-3 py-2">
            <summary className="cursor-pointer text-sm font-medium">Generation parameters</summary>
            <div className="pt-3">
              <ParamsForm idPrefix="rag" value={params} onChange={setParams} defaults={defaults} />
            </div>
          </details>
          <ErrorAlert error={error} title="No answer" />
          {(answer || busy) && (
            <div className="rounded-lg border p-3" data-testid="rag-answer" aria-live="polite">
              {answer ? <Markdown text={answer} onCite={onCite} /> : <span className="text-sm text-muted-foreground">Retrieving and thinking…</span>}
              <Figures stats={stats} />
              {citations.length > 0 && (
                <div className="mt-3 flex flex-wrap gap-2" aria-label="Citations">
                  {citations.map((c) => (
                    <Button key={c.n} variant="outline" size="sm" onClick={() => setOpen(c)} data-testid="citation">
                      [{c.n}] {c.filename}
                      {c.page != null ? `, ${pageSpan(c.page, c.page_end)}` : ""}
                    </Button>
                  ))}
                </div>
              )}
            </div>
          )}
        </CardContent>
      </Card>

      <Card className="h-fit">
        <CardHeader className="pb-3">
          <CardTitle className="text-base">Retrieved chunks</CardTitle>
        </CardHeader>
        <CardContent>
          {citations.length === 0 ? (
            <p className="text-sm text-muted-foreground">Ask a question to see which chunks were retrieved and how well they match.</p>
          ) : (
            <ol className="space-y-2" data-testid="retrieval-panel">
              {citations.map((c) => (
                <li key={c.chunk_id}>
                  <button
                    type="button"
                    onClick={() => setOpen(c)}
                    className="w-full rounded-md border p-2 text-left text-xs hover:bg-accent focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring"
                  >
                    <div className="mb-1 flex items-center justify-between gap-2">
                      <span className="truncate font-medium">
                        [{c.n}] {c.filename}
                        {c.page != null ? ` · ${pageSpan(c.page, c.page_end)}` : ""}
                      </span>
                      <Badge variant="secondary" className="shrink-0 font-mono" title={chunkFiguresTitle(c)} data-testid="chunk-figures">
                        {chunkFigures(c)}
                      </Badge>
                    </div>
                    <p className="line-clamp-3 text-muted-foreground">{c.text}</p>
                  </button>
                </li>
              ))}
              {dropped > 0 && <li className="text-xs text-muted-foreground">{dropped} more left out to fit the model's context.</li>}
            </ol>
          )}
        </CardContent>
      </Card>

      <Dialog open={!!open} onOpenChange={(o) => !o && setOpen(null)}>
        <DialogContent>
          {open && (
            <>
              <DialogHeader>
                <DialogTitle>
                  Source [{open.n}]: {open.filename}
                  {open.page != null ? `, ${pageWords(open.page, open.page_end)}` : ""}
                </DialogTitle>
                <DialogDescription>
                  Chunk {open.position + 1} · {chunkFigures(open)}
                  {open.heading_path.length ? ` · ${open.heading_path.join(" › ")}` : ""}
                </DialogDescription>
              </DialogHeader>
              <div className="whitespace-pre-wrap rounded-md bg-muted p-3 text-sm" data-testid="chunk-text">
                {open.text}
              </div>
              <p className="text-xs text-muted-foreground">
                Document id <code>{open.document_id}</code>
              </p>
            </>
          )}
        </DialogContent>
      </Dialog>
    </div>
  );
}
