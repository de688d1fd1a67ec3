import { useEffect, useMemo, useState } from "react";
import { Plus, Trash2 } from "lucide-react";
import { useQueryClient } from "@tanstack/react-query";

import { EmptyState } from "@/components/EmptyState";
import { ErrorAlert } from "@/components/ErrorAlert";
import { PageHeader } from "@/components/Layout";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { $api } from "@/lib/api";
import { cn } from "@/lib/utils";
import { AskPanel } from "@/pages/documents/AskPanel";
import { DocumentList } from "@/pages/documents/DocumentList";
import { UploadZone } from "@/pages/documents/UploadZone";

export function DocumentsPage() {
  const queryClient = useQueryClient();
  const collections = $api.useQuery("get", "/api/v1/rag/collections");
  const [selected, setSelected] = useState<string>("");
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const invalidate = () => queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/rag/collections"] });
  const create = $api.useMutation("post", "/api/v1/rag/collections", {
    onSuccess: (c) => {
      setName("");
      setDescription("");
      setSelected(c.id);
      void invalidate();
    },
  });
  const remove = $api.useMutation("delete", "/api/v1/rag/collections/{collection_id}", {
    onSuccess: () => {
      setSelected("");
      void invalidate();
    },
  });
  const list = useMemo(() => collections.data ?? [], [collections.data]);
  const current = list.find((c) => c.id === selected);

  useEffect(() => {
    if (!current && list.length) setSelected(list[0].id);
  }, [current, list]);

  return (
    <div className="mx-auto max-w-7xl">
      <PageHeader title="Documents" description="Knowledge bases for retrieval-augmented answers with citations." />
      <ErrorAlert error={collections.error} title="Could not list knowledge bases" className="mb-4" />
      <div className="grid gap-4 lg:grid-cols-[16rem_1fr]">
        <div className="space-y-4">
          <Card>
            <CardHeader className="pb-3">
              <CardTitle className="text-base">Knowledge bases</CardTitle>
            </CardHeader>
            <CardContent className="space-y-1">
              {list.length === 0 && !collections.isLoading && (
                <p className="text-sm text-muted-foreground">None yet: create one below.</p>
              )}
              <ul className="space-y-1" aria-label="Knowledge bases">
                {list.map((c) => (
                  <li key={c.id}>
                    <button
                      type="button"
                      aria-current={c.id === selected}
                      onClick={() => setSelected(c.id)}
                      className={cn(
                        "w-full rounded-md px-3 py-2 text-left text-sm hover:bg-accent focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring",
                        c.id === selected && "bg-accent font-medium",
                      )}
                    >
                      <div>{c.name}</div>
                      <div className="text-xs text-muted-foreground">
                        {c.documents} document{c.documents === 1 ? "" : "s"}
                      </div>
                    </button>
                  </li>
                ))}
              </ul>
            </CardContent>
          </Card>
          <Card>
            <CardContent className="pt-6">
              <form
                className="space-y-2"
                onSubmit={(e) => {
                  e.preventDefault();
                  create.mutate({ body: { name: name.trim(), description } });
                }}
              >
                <div className="space-y-1">
                  <Label htmlFor="kb-name">New knowledge base</Label>
                  <Input id="kb-name" placeholder="e.g. manuals" value={name} onChange={(e) => setName(e.target.value)} />
                </div>
                <div className="space-y-1">
                  <Label htmlFor="kb-desc">Description</Label>
                  <Input id="kb-desc" placeholder="optional" value={description} onChange={(e) => setDescription(e.target.value)} />
                </div>
                <Button type="submit" size="sm" disabled={name.trim().length < 2 || create.isPending}>
                  <Plus /> Create
                </Button>
                <ErrorAlert error={create.error} title="Could not create it" />
              </form>
            </CardContent>
          </Card>
        </div>

        <div className="min-w-0 space-y-4">
          {!current ? (
            <EmptyState title="No knowledge base selected">
              Create a knowledge base, then drop PDF, Markdown or text files into it and ask questions about them.
            </EmptyState>
          ) : (
            <>
              <Card>
                <CardHeader className="flex flex-row items-start justify-between space-y-0">
                  <div>
                    <CardTitle className="text-base">{current.name}</CardTitle>
                    <CardDescription>
                      {current.description || "No description"} · {current.embedding_model} ({current.dimension} dims) · chunks of{" "}
                      {current.chunk_size} tokens, overlap {current.chunk_overlap}
                    </CardDescription>
                  </div>
                  <Button
                    variant="ghost"
                    size="sm"
                    onClick={() => {
                      if (window.confirm(`Delete knowledge base "${current.name}" and all its documents?`)) {
                        remove.mutate({ params: { path: { collection_id: current.id } } });
                      }
                    }}
                  >
                    <Trash2 /> Delete
                  </Button>
                </CardHeader>
                <CardContent className="space-y-4">
                  <ErrorAlert error={remove.error} title="Could not delete it" />
                  <UploadZone collectionId={current.id} />
                  <DocumentList collectionId={current.id} />
                </CardContent>
              </Card>
              <AskPanel collectionId={current.id} />
            </>
          )}
        </div>
      </div>
    </div>
  );
}
