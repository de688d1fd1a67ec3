import { useEffect } from "react";

import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { $api } from "@/lib/api";

interface Props {
  id: string;
  label?: string;
  model: string;
  onModel: (model: string) => void;
  backend?: string;
  onBackend?: (backend: string) => void;
  /** Pick the server's default model by itself when none is chosen (false: the page fills it). */
  autoPick?: boolean;
}

/** Model picker listing local models (loaded ones show their backend) and, optionally, a backend. */
export function ModelPicker({ id, label = "Model", model, onModel, backend, onBackend, autoPick = true }: Props) {
  const models = $api.useQuery("get", "/api/v1/models", {}, { refetchInterval: 10_000 });
  const system = $api.useQuery("get", "/api/v1/system", {}, { enabled: !!onBackend, staleTime: 60_000 });
  const local = models.data?.local ?? [];
  const loaded = models.data?.loaded ?? [];

  // Pick the server's default (or first) model when none is chosen or the chosen one is gone.
  useEffect(() => {
    if (!models.data || !autoPick) return;
    if (!model || !local.some((m) => m.id === model)) {
      const next = models.data.default_model ?? local[0]?.id ?? "";
      if (next !== model) onModel(next);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [models.data, model, autoPick]);

  const chosen = local.find((m) => m.id === model);

  return (
    <div className="flex flex-wrap gap-3">
      <div className="min-w-[12rem] flex-1 space-y-1">
        <Label htmlFor={id}>{label}</Label>
        <NativeSelect id={id} value={model} onChange={(e) => onModel(e.target.value)} disabled={!local.length}>
          {!local.length && <option value="">{models.isLoading ? "Loading…" : "No models"}</option>}
          {/* Never show a model that is not the chosen one: an empty choice reads as such. */}
          {!!local.length && !chosen && <option value="">Choose a model</option>}
          {local.map((m) => {
            const l = loaded.find((x) => x.id === m.id);
            return (
              <option key={m.id} value={m.id}>
                {m.id} · {m.format}
                {l ? ` · loaded on ${l.backend}` : ""}
                {m.demo ? " · demo" : ""}
                {m.bundled ? " · bundled 135M" : ""}
              </option>
            );
          })}
        </NativeSelect>
        {chosen?.bundled && (
          <p className="text-xs text-muted-foreground" data-testid="bundled-model-note">
            SmolLM2-135M-Instruct, bundled for trying the product: it writes fluent English but gets facts and
            arithmetic wrong. Get a bigger model on the Models page.
          </p>
        )}
      </div>
      {onBackend && (
        <div className="w-40 space-y-1">
          <Label htmlFor={`${id}-backend`}>Backend</Label>
          <NativeSelect id={`${id}-backend`} value={backend ?? ""} onChange={(e) => onBackend(e.target.value)}>
            <option value="">auto</option>
            {(system.data?.backends ?? []).map((b) => (
              <option key={b.name} value={b.name} disabled={!b.available} title={b.reason ?? undefined}>
                {b.name}
                {b.available ? "" : " (unavailable)"}
              </option>
            ))}
          </NativeSelect>
        </div>
      )}
    </div>
  );
}
