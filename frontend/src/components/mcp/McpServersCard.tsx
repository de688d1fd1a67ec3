import { useState } from "react";
import { Pencil, Plug, Plus, Save, Trash2, Wrench } from "lucide-react";
import { useQuery } from "@tanstack/react-query";

import { ErrorAlert } from "@/components/ErrorAlert";
import { TextareaField } from "@/components/TextareaField";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { Switch } from "@/components/ui/switch";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { $api, queryClient } from "@/lib/api";
import {
  EMPTY_FORM,
  MCP_SERVERS_KEY,
  REDACTED,
  configOf,
  deleteServer,
  formOf,
  saveServer,
  serverTools,
  testServer,
  type McpServer,
  type McpServerTools,
  type ServerForm,
} from "@/lib/mcp";

/** A server's connection state in a word (and why it failed, as the title). */
function StatusBadge({ server }: { server: McpServer }) {
  if (server.disabled) return <Badge variant="outline">disabled</Badge>;
  if (server.status.connected) return <Badge variant="secondary">connected</Badge>;
  if (server.status.last_error)
    return (
      <Badge variant="destructive" title={server.status.last_error}>
        error
      </Badge>
    );
  return <Badge variant="outline">not connected</Badge>;
}

/** What a server offers: its tools (marked when its allow-list leaves them out). */
export function ToolListing({ listing }: { listing: McpServerTools }) {
  return (
    <div className="space-y-1 text-sm" data-testid="mcp-tool-listing">
      <p className="text-xs text-muted-foreground">
        {listing.tools.length} tool{listing.tools.length === 1 ? "" : "s"} · listed in {Math.round(listing.duration_ms)} ms
      </p>
      <ul className="space-y-1">
        {listing.tools.map((t) => (
          <li key={t.name} className={t.allowed ? "" : "text-muted-foreground line-through"}>
            <span className="font-mono font-medium">{t.name}</span>
            {t.description ? <span className="text-muted-foreground"> · {t.description}</span> : null}
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * Settings' MCP servers: the servers of the server's mcp.json with their status, a form to add
 * or edit one (a local command with arguments and environment, or a URL with headers; approval;
 * enabled; allowed tools), a connection test of the form as it stands, each server's tools, and
 * delete. Secrets come back redacted; saving the marker keeps the stored value.
 */
export function McpServersCard() {
  const servers = $api.useQuery("get", "/api/v1/mcp/servers");
  // The form: null when closed; `editing` is the name being edited ("" for a new server).
  const [form, setForm] = useState<ServerForm | null>(null);
  const [editing, setEditing] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [tested, setTested] = useState<McpServerTools | null>(null);
  const [busy, setBusy] = useState(false);
  const [showing, setShowing] = useState<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: MCP_SERVERS_KEY });
  const tools = useQuery({
    queryKey: ["mcp-server-tools", showing],
    queryFn: async () => {
      try {
        return await serverTools(showing!);
      } finally {
        void refresh(); // listing connects (or fails to): the status column changes
      }
    },
    enabled: showing !== null,
  });

  function open(next: ServerForm, name: string) {
    setForm(next);
    setEditing(name);
    setError(null);
    setTested(null);
  }

  async function act(work: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const set = (patch: Partial<ServerForm>) => setForm((f) => (f ? { ...f, ...patch } : f));

  return (
    <Card data-testid="mcp-servers">
      <CardHeader>
        <CardTitle className="flex items-center gap-1 text-base">
          <Plug className="size-4" aria-hidden /> MCP servers
        </CardTitle>
        <CardDescription>
          Tool servers the Playground&apos;s chat can use, kept in the server&apos;s mcp.json (editing needs an admin key when auth is on).
        </CardDescription>
      </CardHeader>
      <CardContent className="space-y-3">
        <ErrorAlert error={servers.error} title="Could not list MCP servers" />
        {servers.data && servers.data.length === 0 && <p className="text-sm text-muted-foreground">No MCP server yet.</p>}
        {servers.data && servers.data.length > 0 && (
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>Name</TableHead>
                <TableHead>Transport</TableHead>
                <TableHead>Status</TableHead>
                <TableHead>Approval</TableHead>
                <TableHead>Enabled</TableHead>
                <TableHead className="sr-only">Actions</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {servers.data.map((s) => (
                <TableRow key={s.name} data-testid={`mcp-server-${s.name}`}>
                  <TableCell className="font-medium">{s.name}</TableCell>
                  <TableCell>{s.transport === "stdio" ? "stdio" : "HTTP"}</TableCell>
                  <TableCell>
                    <StatusBadge server={s} />
                  </TableCell>
                  <TableCell>{s.approval === "ask" ? "ask" : "auto"}</TableCell>
                  <TableCell>{s.disabled ? "no" : "yes"}</TableCell>
                  <TableCell className="whitespace-nowrap text-right">
                    <Button variant="ghost" size="sm" aria-label={`Tools of ${s.name}`} onClick={() => setShowing(showing === s.name ? null : s.name)}>
                      <Wrench /> Tools
                    </Button>
                    <Button variant="ghost" size="sm" aria-label={`Edit ${s.name}`} onClick={() => open(formOf(s), s.name)}>
                      <Pencil /> Edit
                    </Button>
                    <Button
                      variant="ghost"
                      size="sm"
                      aria-label={`Delete ${s.name}`}
                      disabled={busy}
                      onClick={() =>
                        void act(async () => {
                          await deleteServer(s.name);
                          if (showing === s.name) setShowing(null);
                          await refresh();
                        })
                      }
                    >
                      <Trash2 />
                    </Button>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
        {showing && (
          <div className="rounded-md border p-3">
            <h3 className="mb-1 text-sm font-semibold">Tools of {showing}</h3>
            {tools.isLoading && <p className="text-xs text-muted-foreground">Connecting…</p>}
            <ErrorAlert error={tools.error} title="Could not list the tools" />
            {tools.data && <ToolListing listing={tools.data} />}
          </div>
        )}
        {!form && (
          <Button variant="outline" onClick={() => open(EMPTY_FORM, "")}>
            <Plus /> Add server
          </Button>
        )}
        {form && (
          <form
            className="space-y-3 rounded-md border p-3"
            aria-label={editing ? `Edit ${editing}` : "New MCP server"}
            onSubmit={(e) => {
              e.preventDefault();
              void act(async () => {
                await saveServer(form.name.trim(), configOf(form));
                setForm(null);
                await refresh();
              });
            }}
          >
            <div className="grid gap-3 sm:grid-cols-2">
              <div className="space-y-1">
                <Label htmlFor="mcp-name">Name</Label>
                <Input id="mcp-name" required value={form.name} disabled={!!editing} onChange={(e) => set({ name: e.target.value })} />
              </div>
              <div className="space-y-1">
                <Label htmlFor="mcp-transport">Transport</Label>
                <NativeSelect id="mcp-transport" value={form.transport} onChange={(e) => set({ transport: e.target.value as ServerForm["transport"] })}>
                  <option value="stdio">stdio (a local command)</option>
                  <option value="http">Streamable HTTP (a URL)</option>
                </NativeSelect>
              </div>
            </div>
            {form.transport === "stdio" ? (
              <>
                <div className="space-y-1">
                  <Label htmlFor="mcp-command">Command</Label>
                  <Input id="mcp-command" required placeholder="e.g. npx or /usr/bin/python3" value={form.command} onChange={(e) => set({ command: e.target.value })} />
                </div>
                <TextareaField id="mcp-args" label="Arguments (one per line)" rows={2} value={form.args} onChange={(e) => set({ args: e.target.value })} />
                <TextareaField
                  id="mcp-env"
                  label={`Environment (KEY=value per line; ${REDACTED} keeps a saved value)`}
                  rows={2}
                  value={form.env}
                  onChange={(e) => set({ env: e.target.value })}
                />
              </>
            ) : (
              <>
                <div className="space-y-1">
                  <Label htmlFor="mcp-url">URL</Label>
                  <Input id="mcp-url" required placeholder="https://host/mcp" value={form.url} onChange={(e) => set({ url: e.target.value })} />
                </div>
                <TextareaField
                  id="mcp-headers"
                  label={`Headers (Name: value per line; ${REDACTED} keeps a saved value)`}
                  rows={2}
                  value={form.headers}
                  onChange={(e) => set({ headers: e.target.value })}
                />
              </>
            )}
            <div className="grid gap-3 sm:grid-cols-2">
              <div className="space-y-1">
                <Label htmlFor="mcp-approval">Tool calls</Label>
                <NativeSelect id="mcp-approval" value={form.approval} onChange={(e) => set({ approval: e.target.value as ServerForm["approval"] })}>
                  <option value="auto">run at once (auto)</option>
                  <option value="ask">ask me first (ask)</option>
                </NativeSelect>
              </div>
              <div className="flex items-center gap-2 pt-6">
                <Switch id="mcp-enabled" checked={form.enabled} onCheckedChange={(on) => set({ enabled: on })} />
                <Label htmlFor="mcp-enabled">Enabled</Label>
              </div>
            </div>
            <TextareaField
              id="mcp-allowed"
              label="Allowed tools (one per line; empty: all)"
              rows={2}
              value={form.allowedTools}
              onChange={(e) => set({ allowedTools: e.target.value })}
            />
            <ErrorAlert error={error} title="The server could not be saved or reached" />
            {tested && <ToolListing listing={tested} />}
            <div className="flex flex-wrap gap-2">
              <Button type="submit" disabled={busy || !form.name.trim()}>
                <Save /> Save
              </Button>
              <Button
                type="button"
                variant="outline"
                disabled={busy}
                onClick={() =>
                  void act(async () => {
                    setTested(null);
                    setTested(await testServer(form.name.trim(), configOf(form)));
                  })
                }
              >
                <Plug /> {busy ? "Working…" : "Test connection"}
              </Button>
              <Button type="button" variant="ghost" onClick={() => setForm(null)}>
                Cancel
              </Button>
            </div>
          </form>
        )}
        {!form && <ErrorAlert error={error} title="The server could not be deleted" />}
      </CardContent>
    </Card>
  );
}
