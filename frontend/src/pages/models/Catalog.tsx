import { useDeferredValue, useState } from "react";
import { Download, Search } from "lucide-react";
import { useQueryClient } from "@tanstack/react-query";

import { ActionTable } from "@/components/ActionTable";
import { ErrorAlert } from "@/components/ErrorAlert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { TableCell, TableHead } from "@/components/ui/table";
import { $api, type Schemas } from "@/lib/api";
import { formatBytes } from "@/lib/format";

type Entry = Schemas["CatalogEntry"];

function params(n: number | null | undefined) {
  if (!n) return "–";
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : `${Math.round(n / 1e6)}M`;
}

/** Curated, local and Hub models with search and filters (format, fits in memory). */
export function CatalogSection() {
  const queryClient = useQueryClient();
  const [q, setQ] = useState("");
  const [format, setFormat] = useState<"" | "hf" | "gguf">("");
  const [fits, setFits] = useState<"" | "true" | "false">("");
  const query = useDeferredValue(q.trim());
  const catalog = $api.useQuery("get", "/api/v1/models/catalog", {
    params: {
      query: {
        ...(query ? { q: query } : {}),
        ...(format ? { format } : {}),
        ...(fits ? { fits: fits === "true" } : {}),
      },
    },
  });
  const start = $api.useMutation("post", "/api/v1/downloads", {
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/downloads"] });
      void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/models/catalog"] });
    },
  });
  const entries = catalog.data?.data ?? [];

  function download(e: Entry) {
    if (!e.repo) return;
    start.mutate({
      body: {
        repo_id: e.repo,
        ...(e.files?.length ? { files: e.files } : e.allow_patterns?.length ? { allow_patterns: e.allow_patterns } : {}),
      },
    });
  }

  return (
    <Card>
      <CardHeader>
        <CardTitle className="flex items-center gap-2 text-base">
          Catalog
          {catalog.data && (
            <Badge variant={catalog.data.hub === "online" ? "secondary" : "outline"} title={catalog.data.hub_detail ?? catalog.data.hub_endpoint}>
              Hub {catalog.data.hub}
            </Badge>
          )}
        </CardTitle>
        <CardDescription>
          Curated picks and local models; a search also queries the Hub when it is reachable.
          {catalog.data?.hub === "offline" && catalog.data.hub_detail ? ` (${catalog.data.hub_detail})` : ""}
        </CardDescription>
      </CardHeader>
      <CardContent className="space-y-3">
        <div className="flex flex-wrap items-end gap-3">
          <div className="min-w-[14rem] flex-1 space-y-1">
            <Label htmlFor="cat-q">Search</Label>
            <div className="relative">
              <Search className="pointer-events-none absolute left-2.5 top-2.5 h-4 w-4 text-muted-foreground" aria-hidden />
              <Input id="cat-q" className="pl-8" placeholder="name, repo, quantization…" value={q} onChange={(e) => setQ(e.target.value)} />
            </div>
          </div>
          <div className="w-36 space-y-1">
            <Label htmlFor="cat-format">Format</Label>
            <NativeSelect id="cat-format" value={format} onChange={(e) => setFormat(e.target.value as typeof format)}>
              <option value="">any</option>
              <option value="hf">Transformers (hf)</option>
              <option value="gguf">GGUF</option>
            </NativeSelect>
          </div>
          <div className="w-44 space-y-1">
            <Label htmlFor="cat-fits">Fits in memory</Label>
            <NativeSelect id="cat-fits" value={fits} onChange={(e) => setFits(e.target.value as typeof fits)}>
              <option value="">any</option>
              <option value="true">fits</option>
              <option value="false">too big</option>
            </NativeSelect>
          </div>
        </div>
        <ErrorAlert error={catalog.error} title="Could not load the catalog" />
        <ErrorAlert error={start.error} title="Could not start the download" />
        {catalog.data && entries.length === 0 ? (
          <p className="text-sm text-muted-foreground">No model matches. Clear the filters, or enter a Hub repo id under Downloads.</p>
        ) : (
          <ActionTable
            testId="catalog"
            head={
              <>
                <TableHead>Model</TableHead>
                <TableHead className="hidden lg:table-cell">Source</TableHead>
                <TableHead>Format</TableHead>
                <TableHead>Size</TableHead>
                <TableHead className="hidden lg:table-cell">Params</TableHead>
                <TableHead>Backend</TableHead>
                <TableHead>Memory</TableHead>
              </>
            }
            items={entries}
            cells={(e) => (
              <>
                <TableCell>
                  <div className="font-medium">{e.name}</div>
                  <div className="max-w-xs truncate text-xs text-muted-foreground" title={e.description ?? e.repo ?? ""}>
                    {e.repo ?? e.description ?? ""}
                    {e.license ? ` · ${e.license}` : ""}
                  </div>
                </TableCell>
                <TableCell className="hidden lg:table-cell">{e.source}</TableCell>
                <TableCell>
                  {e.format ?? "–"}
                  {e.quantization ? ` ${e.quantization}` : ""}
                </TableCell>
                <TableCell className="whitespace-nowrap font-mono">{formatBytes(e.size_bytes)}</TableCell>
                <TableCell className="hidden lg:table-cell font-mono">{params(e.parameters)}</TableCell>
                <TableCell>{e.suggested_backend ?? "–"}</TableCell>
                <TableCell>
                  {e.memory_fit.fits == null ? (
                    <span className="text-muted-foreground">unknown</span>
                  ) : (
                    <Badge
                      variant={e.memory_fit.fits ? "secondary" : "destructive"}
                      title={`needs ${formatBytes(e.memory_fit.required_bytes)}, ${formatBytes(e.memory_fit.available_bytes)} free`}
                    >
                      {e.memory_fit.fits ? "fits" : "too big"}
                    </Badge>
                  )}
                </TableCell>
              </>
            )}
            actions={(e) =>
              e.status === "ready" ? (
                <Badge variant="secondary">installed</Badge>
              ) : e.status === "downloading" ? (
                <Badge variant="outline">downloading</Badge>
              ) : e.repo ? (
                <Button variant="outline" size="sm" disabled={start.isPending} onClick={() => download(e)}>
                  <Download /> Download<span className="sr-only"> {e.name}</span>
                </Button>
              ) : null
            }
          />
        )}
      </CardContent>
    </Card>
  );
}
