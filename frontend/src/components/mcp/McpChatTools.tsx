import { Link } from "react-router-dom";
import { Plug } from "lucide-react";
import { useQuery } from "@tanstack/react-query";

import { ErrorAlert } from "@/components/ErrorAlert";
import { Card, CardContent } from "@/components/ui/card";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { $api } from "@/lib/api";
import { patchConversation, useConversation } from "@/lib/conversation";
import { serverTools, type McpServerTools } from "@/lib/mcp";

/** The names the model is offered for these servers' tools: a tool's own name, or
 * `server__tool` where two chosen servers share it (as the server names them). */
export function offeredNames(listings: McpServerTools[]): string[] {
  const count = new Map<string, number>();
  for (const l of listings) for (const t of l.tools) if (t.allowed) count.set(t.name, (count.get(t.name) ?? 0) + 1);
  return listings.flatMap((l) => l.tools.filter((t) => t.allowed).map((t) => ((count.get(t.name) ?? 0) > 1 ? `${l.server}__${t.name}` : t.name)));
}

/**
 * The Playground's MCP control: which configured servers' tools the chat's answers may call
 * (`mcp_servers`), and whether the first round must call a tool. The server runs the calls; the
 * answer shows them as cards (with Approve/Deny for servers that ask) and stores them.
 */
export function McpChatTools({ disabled }: { disabled?: boolean }) {
  const conv = useConversation();
  const servers = $api.useQuery("get", "/api/v1/mcp/servers");
  const enabled = (servers.data ?? []).filter((s) => !s.disabled);
  // A server removed or disabled in Settings drops out of the choice.
  const chosen = conv.mcpServers.filter((n) => enabled.some((s) => s.name === n));
  const tools = useQuery({
    queryKey: ["mcp-chat-tools", chosen],
    queryFn: () => Promise.all(chosen.map(serverTools)),
    enabled: chosen.length > 0,
    staleTime: 30_000,
  });
  const names = tools.data ? offeredNames(tools.data) : [];

  function toggle(name: string, on: boolean) {
    const next = on ? [...chosen, name] : chosen.filter((n) => n !== name);
    patchConversation({ mcpServers: next, ...(next.length ? {} : { mcpToolChoice: "auto" }) });
  }

  return (
    <Card data-testid="mcp-chat-tools">
      <CardContent className="space-y-2 pt-4">
        <h2 className="flex items-center gap-1 text-sm font-semibold">
          <Plug className="size-4" aria-hidden /> MCP tools
        </h2>
        <ErrorAlert error={servers.error} title="Could not list MCP servers" />
        {servers.data && enabled.length === 0 && (
          <p className="text-xs text-muted-foreground">
            No MCP server is enabled; add one in{" "}
            <Link className="text-primary underline" to="/settings">
              Settings
            </Link>
            .
          </p>
        )}
        {enabled.length > 0 && (
          <>
            <fieldset className="flex flex-wrap gap-x-4 gap-y-1" disabled={disabled}>
              <legend className="sr-only">MCP servers for this chat</legend>
              {enabled.map((s) => (
                <label key={s.name} className="flex items-center gap-1.5 text-sm">
                  <input type="checkbox" checked={chosen.includes(s.name)} onChange={(e) => toggle(s.name, e.target.checked)} />
                  {s.name}
                  {s.approval === "ask" && <span className="text-xs text-muted-foreground">(asks)</span>}
                </label>
              ))}
            </fieldset>
            {chosen.length > 0 && (
              <div className="flex flex-wrap items-center gap-2">
                <Label htmlFor="mcp-tool-choice" className="text-xs">
                  First round
                </Label>
                <div className="w-56">
                  <NativeSelect
                    id="mcp-tool-choice"
                    value={conv.mcpToolChoice}
                    disabled={disabled}
                    onChange={(e) => patchConversation({ mcpToolChoice: e.target.value })}
                  >
                    <option value="auto">the model decides</option>
                    <option value="required">must call a tool</option>
                    {names.map((n) => (
                      <option key={n} value={n}>
                        must call {n}
                      </option>
                    ))}
                  </NativeSelect>
                </div>
                <span className="text-xs text-muted-foreground" data-testid="mcp-tool-count">
                  {tools.isLoading ? "connecting…" : `${names.length} tool${names.length === 1 ? "" : "s"} offered`}
                </span>
              </div>
            )}
            <ErrorAlert error={tools.error} title="Could not list the tools" />
            <p className="text-xs text-muted-foreground">
              The server runs the calls the model makes and feeds the results back; the calls are saved in the conversation.
            </p>
          </>
        )}
      </CardContent>
    </Card>
  );
}
