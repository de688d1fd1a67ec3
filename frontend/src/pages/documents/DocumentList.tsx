import { Trash2 } from "lucide-react";
import { useQueryClient } from "@tanstack/react-query";

import { ActionTable } from "@/components/ActionTable";
import { ErrorAlert } from "@/components/ErrorAlert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { TableCell, TableHead } from "@/components/ui/table";
import { $api } from "@/lib/api";
import { formatBytes } from "@/lib/format";

export function DocumentList({ collectionId }: { collectionId: string }) {
  const queryClient = useQueryClient();
  const docs = $api.useQuery(
    "get",
    "/api/v1/rag/documents",
    { params: { query: { collection: collectionId } } },
    { refetchInterval: (q) => (q.state.data?.some((d) => d.status === "ingesting") ? 2_000 : false) },
  );
  const remove = $api.useMutation("delete", "/api/v1/rag/documents/{document_id}", {
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/rag/documents"] });
      void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/rag/collections"] });
    },
  });
  const list = docs.data ?? [];
  return (
    <div>
      <h3 className="mb-2 text-sm font-semibold">Documents</h3>
      <ErrorAlert error={docs.error ?? remove.error} title="Documents" />
      {list.length === 0 ? (
        <p className="text-sm text-muted-foreground">No documents yet: upload some above.</p>
      ) : (
        <ActionTable
          testId="documents"
          head={
            <>
              <TableHead>File</TableHead>
              <TableHead className="hidden lg:table-cell">Kind</TableHead>
              <TableHead className="hidden lg:table-cell">Size</TableHead>
              <TableHead>Pages</TableHead>
              <TableHead>Chunks</TableHead>
              <TableHead>Tags</TableHead>
              <TableHead>Status</TableHead>
            </>
          }
          items={list}
          cells={(d) => (
            <>
              <TableCell className="max-w-[14rem] truncate font-medium" title={d.filename}>
                {d.filename}
              </TableCell>
              <TableCell className="hidden lg:table-cell">{d.kind}</TableCell>
              <TableCell className="hidden lg:table-cell whitespace-nowrap font-mono">{formatBytes(d.size_bytes)}</TableCell>
              <TableCell className="font-mono">{d.pages}</TableCell>
              <TableCell className="font-mono">{d.chunks}</TableCell>
              <TableCell>
                <div className="flex flex-wrap gap-1">
                  {d.tags.map((t) => (
                    <Badge key={t} variant="outline">
                      {t}
                    </Badge>
                  ))}
                </div>
              </TableCell>
              <TableCell>
                <Badge variant={d.status === "ready" ? "secondary" : "outline"}>{d.status}</Badge>
              </TableCell>
            </>
          )}
          actions={(d) => (
            <Button
              variant="ghost"
              size="icon"
              aria-label={`Delete ${d.filename}`}
              onClick={() => remove.mutate({ params: { path: { document_id: d.id } } })}
            >
              <Trash2 />
            </Button>
          )}
        />
      )}
    </div>
  );
}
