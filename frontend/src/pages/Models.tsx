import { useState } from "react";
import { Cpu, Layers, Loader2, Power, PowerOff, Trash2 } from "lucide-react";
import { useQueryClient } from "@tanstack/react-query";

import { ActionTable } from "@/components/ActionTable";
import { NoModels } from "@/components/EmptyState";
import { ErrorAlert } from "@/components/ErrorAlert";
import { PageHeader } from "@/components/Layout";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { TableCell, TableHead } from "@/components/ui/table";
import { $api } from "@/lib/api";
import { formatBytes, formatDuration } from "@/lib/format";
import { canQuantize, lineageLabel } from "@/lib/quantize";
import { DownloadsSection } from "@/pages/models/Downloads";
import { CatalogSection } from "@/pages/models/Catalog";
import { QuantizationsSection, QuantizeDialog } from "@/pages/models/Quantize";

export function ModelsPage() {
  const queryClient = useQueryClient();
  const models = $api.useQuery("get", "/api/v1/models", {}, { refetchInterval: 5_000 });
  const invalidate = () => queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/models"] });
  const load = $api.useMutation("post", "/api/v1/models/{model_id}/load", { onSettled: invalidate });
  const unload = $api.useMutation("post", "/api/v1/models/{model_id}/unload", { onSettled: invalidate });
  const remove = $api.useMutation("delete", "/api/v1/models/{model_id}", {
    onSettled: () => {
      void invalidate();
      void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/models/catalog"] });
    },
  });
  const [pending, setPending] = useState<string | null>(null);
  const [quantizing, setQuantizing] = useState<string | null>(null);
  const local = models.data?.local ?? [];
  const loaded = models.data?.loaded ?? [];
  const now = Date.now() / 1000;

  return (
    <div className="mx-auto max-w-7xl space-y-4">
      <PageHeader title="Models" description="Models on this machine, what is in memory, quantizations and downloads." />
      <ErrorAlert error={models.error} title="Could not list models" />
      <ErrorAlert error={load.error ?? unload.error ?? remove.error} title="Load, unload or delete failed" />

      <Card>
        <CardHeader>
          <CardTitle className="text-base">Loaded</CardTitle>
          <CardDescription>Models in memory now; requests to others load them first.</CardDescription>
        </CardHeader>
        <CardContent>
          {loaded.length === 0 ? (
            <p className="text-sm text-muted-foreground">Nothing loaded. Load a model below, or just send a request: it loads on demand.</p>
          ) : (
            <ActionTable
              testId="loaded-models"
              head={
                <>
                  <TableHead>Model</TableHead>
                  <TableHead>Backend</TableHead>
                  <TableHead className="hidden lg:table-cell">Device</TableHead>
                  <TableHead>Memory</TableHead>
                  <TableHead className="hidden lg:table-cell">Context</TableHead>
                  <TableHead className="hidden lg:table-cell">Requests</TableHead>
                  <TableHead className="hidden lg:table-cell">Tokens</TableHead>
                  <TableHead>Idle</TableHead>
                </>
              }
              items={loaded}
              cells={(m) => (
                <>
                  <TableCell className="font-medium">
                    {m.id}
                    {m.replicas && m.replicas.length > 0 && (
                      <ul className="mt-1 space-y-0.5 text-xs font-normal text-muted-foreground" aria-label={`Replicas of ${m.id}`}>
                        {m.replicas.map((r) => (
                          <li key={r.url} title={r.last_error ?? undefined}>
                            <span className="font-mono">{r.url}</span>{" "}
                            <Badge variant={r.breaker_state === "closed" ? "outline" : "destructive"}>
                              {r.breaker_state === "closed" ? "up" : r.breaker_state.replace("_", "-")}
                            </Badge>{" "}
                            {r.in_flight} in flight · {r.requests_total} requests
                            {r.failures_total ? ` · ${r.failures_total} failed` : ""}
                          </li>
                        ))}
                      </ul>
                    )}
                  </TableCell>
                  <TableCell title={m.backend_reason}>
                    <Badge variant="secondary">{m.backend}</Badge>
                  </TableCell>
                  <TableCell className="hidden lg:table-cell">
                    {m.device} · {m.dtype}
                  </TableCell>
                  <TableCell className="whitespace-nowrap font-mono">{formatBytes(m.memory_bytes)}</TableCell>
                  <TableCell className="hidden lg:table-cell font-mono">{m.context_length}</TableCell>
                  <TableCell className="hidden lg:table-cell font-mono">
                    {m.requests_total}
                    {m.active_requests ? ` (${m.active_requests} active)` : ""}
                  </TableCell>
                  <TableCell className="hidden lg:table-cell font-mono">{m.tokens_generated}</TableCell>
                  <TableCell>{formatDuration(now - m.last_used)}</TableCell>
                </>
              )}
              actions={(m) => (
                <Button
                  variant="outline"
                  size="sm"
                  disabled={unload.isPending}
                  onClick={() => unload.mutate({ params: { path: { model_id: m.id } } })}
                >
                  <PowerOff /> Unload<span className="sr-only"> {m.id}</span>
                </Button>
              )}
            />
          )}
        </CardContent>
      </Card>

      <Card>
        <CardHeader>
          <CardTitle className="text-base">On this machine</CardTitle>
          <CardDescription>Default model: {models.data?.default_model ?? "none"}</CardDescription>
        </CardHeader>
        <CardContent>
          {models.data && local.length === 0 ? (
            <NoModels />
          ) : (
            <ActionTable
              testId="local-models"
              head={
                <>
                  <TableHead>Model</TableHead>
                  <TableHead>Format</TableHead>
                  <TableHead>Size</TableHead>
                  <TableHead className="hidden lg:table-cell">Description</TableHead>
                </>
              }
              items={local}
              cells={(m) => (
                <>
                  <TableCell className="font-medium">
                    {m.id} {m.demo && <Badge variant="outline">demo</Badge>}
                    {m.bundled && <Badge variant="outline">bundled · 135M</Badge>}
                    {m.lineage && (
                      <div className="text-xs font-normal text-muted-foreground" data-testid="model-lineage">
                        {lineageLabel(m.lineage)}
                      </div>
                    )}
                  </TableCell>
                  <TableCell>{m.format}</TableCell>
                  <TableCell className="whitespace-nowrap font-mono">{formatBytes(m.size_bytes)}</TableCell>
                  <TableCell className="hidden lg:table-cell max-w-xs truncate text-muted-foreground" title={m.description ?? undefined}>
                    {m.description ?? ""}
                  </TableCell>
                </>
              )}
              actionsClassName="whitespace-nowrap"
              actions={(m) => (
                <>
                  {m.loaded ? (
                    <Badge variant="secondary">
                      <Cpu className="mr-1 h-3 w-3" /> loaded
                    </Badge>
                  ) : (
                    <Button
                      variant="outline"
                      size="sm"
                      disabled={load.isPending}
                      onClick={() => {
                        setPending(m.id);
                        load.mutate({ params: { path: { model_id: m.id } } }, { onSettled: () => setPending(null) });
                      }}
                    >
                      {pending === m.id ? <Loader2 className="animate-spin" /> : <Power />} Load
                      <span className="sr-only"> {m.id}</span>
                    </Button>
                  )}
                  {canQuantize(m.format) && (
                    <Button variant="ghost" size="sm" onClick={() => setQuantizing(m.id)}>
                      <Layers /> Quantize<span className="sr-only"> {m.id}</span>
                    </Button>
                  )}
                  <Button
                    variant="ghost"
                    size="icon"
                    aria-label={`Delete ${m.id}`}
                    disabled={remove.isPending}
                    onClick={() => {
                      if (window.confirm(`Delete the files of ${m.id}?`)) remove.mutate({ params: { path: { model_id: m.id } } });
                    }}
                  >
                    <Trash2 />
                  </Button>
                </>
              )}
            />
          )}
        </CardContent>
      </Card>

      <QuantizeDialog model={quantizing} onClose={() => setQuantizing(null)} />
      <QuantizationsSection />
      <DownloadsSection />
      <CatalogSection />
    </div>
  );
}
