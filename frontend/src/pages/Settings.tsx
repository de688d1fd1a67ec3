import { useState } from "react";
import { LogOut, Save } from "lucide-react";

import { ErrorAlert } from "@/components/ErrorAlert";
import { PageHeader } from "@/components/Layout";
import { McpServersCard } from "@/components/mcp/McpServersCard";
import { ParamsForm } from "@/components/ParamsForm";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Switch } from "@/components/ui/switch";
import { $api, queryClient, type Schemas } from "@/lib/api";
import { formatBytes } from "@/lib/format";
import { FACTORY_PARAMS } from "@/lib/params";
import { endSession, useSession } from "@/lib/session";
import { updateSettings, useSettings } from "@/lib/settings";

export function SettingsPage() {
  const settings = useSettings();
  const [apiBase, setApiBase] = useState(settings.apiBase);
  const session = useSession();
  const [saved, setSaved] = useState(false);
  const system = $api.useQuery("get", "/api/v1/system");

  return (
    <div className="mx-auto max-w-3xl space-y-4">
      <PageHeader title="Settings" description="Stored in this browser only, except the MCP servers (kept by the server)." />
      <Card>
        <CardHeader>
          <CardTitle className="text-base">API</CardTitle>
          <CardDescription>Leave the base empty to use the server this page came from.</CardDescription>
        </CardHeader>
        <CardContent>
          <form
            className="space-y-3"
            onSubmit={(e) => {
              e.preventDefault();
              updateSettings({ apiBase: apiBase.trim() });
              void queryClient.invalidateQueries();
              setSaved(true);
              setTimeout(() => setSaved(false), 2000);
            }}
          >
            <div className="space-y-1">
              <Label htmlFor="set-base">API base URL</Label>
              <Input id="set-base" placeholder="e.g. http://127.0.0.1:8000" value={apiBase} onChange={(e) => setApiBase(e.target.value)} />
            </div>
            {session.token && (
              <div className="flex flex-wrap items-center gap-3 text-sm" data-testid="session">
                <span>
                  Logged in with key <strong>{session.keyName}</strong>
                  {session.admin ? " (admin)" : ""}; the session ends{" "}
                  {new Date(session.expiresAt * 1000).toLocaleString()}.
                </span>
                <Button
                  type="button"
                  variant="outline"
                  onClick={() => {
                    endSession();
                    void queryClient.invalidateQueries();
                  }}
                >
                  <LogOut /> Log out
                </Button>
              </div>
            )}
            <div className="flex items-center gap-3">
              <Button type="submit">
                <Save /> Save
              </Button>
              {saved && (
                <span role="status" className="text-sm text-muted-foreground">
                  Saved
                </span>
              )}
            </div>
          </form>
        </CardContent>
      </Card>

      <Card>
        <CardHeader>
          <CardTitle className="text-base">Appearance</CardTitle>
        </CardHeader>
        <CardContent className="flex items-center gap-3">
          <Switch
            id="set-dark"
            checked={settings.theme === "dark"}
            onCheckedChange={(on) => updateSettings({ theme: on ? "dark" : "light" })}
          />
          <Label htmlFor="set-dark">Dark theme</Label>
        </CardContent>
      </Card>

      <Card>
        <CardHeader>
          <CardTitle className="text-base">Default parameters</CardTitle>
          <CardDescription>Used by new pages and by every Reset button.</CardDescription>
        </CardHeader>
        <CardContent>
          <ParamsForm idPrefix="set" value={settings.defaults} onChange={(defaults) => updateSettings({ defaults })} defaults={FACTORY_PARAMS} />
        </CardContent>
      </Card>

      <McpServersCard />

      <Card>
        <CardHeader>
          <CardTitle className="text-base">Server</CardTitle>
        </CardHeader>
        <CardContent>
          <ErrorAlert error={system.error} title="Could not reach the server" />
          {system.data && (
            <dl className="grid grid-cols-[10rem_1fr] gap-x-4 gap-y-1 text-sm">
              <dt className="text-muted-foreground">Version</dt>
              <dd>{system.data.version}</dd>
              <dt className="text-muted-foreground">CPU</dt>
              <dd>
                {system.data.cpu_model} ({system.data.cpu_cores} cores{system.data.cpu_bf16 ? ", bf16" : ""})
              </dd>
              <dt className="text-muted-foreground">Memory</dt>
              <dd>
                {formatBytes(system.data.memory_available_bytes)} free of {formatBytes(system.data.memory_total_bytes)}
              </dd>
              <dt className="text-muted-foreground">GPUs</dt>
              <dd>{system.data.gpus.length ? system.data.gpus.map((g) => g.name).join(", ") : "none"}</dd>
              <dt className="text-muted-foreground">Deployment</dt>
              <dd data-testid="deployment">
                <DeploymentSummary deployment={system.data.deployment} />
              </dd>
              <dt className="text-muted-foreground">Backends</dt>
              <dd>
                <ul>
                  {system.data.backends.map((b) => (
                    <li key={b.name}>
                      <span className={b.available ? "font-medium" : "text-muted-foreground line-through"}>{b.name}</span>
                      {!b.available && b.reason ? <span className="text-muted-foreground"> · {b.reason}</span> : null}
                    </li>
                  ))}
                </ul>
              </dd>
            </dl>
          )}
        </CardContent>
      </Card>
    </div>
  );
}

/** Where the server keeps its state and who runs its jobs (one line each). */
function DeploymentSummary({ deployment }: { deployment: Schemas["DeploymentInfo"] }) {
  const jobs =
    deployment.jobs === "queue"
      ? `Redis queue · ${deployment.workers == null ? "workers unknown" : `${deployment.workers} worker host${deployment.workers === 1 ? "" : "s"} alive`}${deployment.runs_jobs ? " · this server runs jobs too" : " · this server serves the API only"}`
      : "in this server";
  return (
    <ul>
      <li>Metadata: {deployment.database === "postgresql" ? "PostgreSQL" : "SQLite in the data folder"}</li>
      <li>Jobs: {jobs}</li>
      <li>Vectors: {deployment.vector_store === "server" ? "Chroma server" : "embedded Chroma"}</li>
      {deployment.shared_dir ? <li>Files: {deployment.shared_dir}</li> : null}
    </ul>
  );
}
