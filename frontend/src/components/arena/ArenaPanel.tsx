import { useState } from "react";
import { Swords } from "lucide-react";
import { useQueryClient } from "@tanstack/react-query";

import { BattleView } from "@/components/arena/BattleView";
import { ModelChecklist } from "@/components/arena/ModelChecklist";
import { ErrorAlert } from "@/components/ErrorAlert";
import { ParamsCard } from "@/components/ParamsForm";
import { TextareaField } from "@/components/TextareaField";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { isSendKey } from "@/lib/keys";
import { battleBody, canBattle, startBattle, voteBattle, type Battle, type Winner } from "@/lib/arena";
import { createPersistentStore, useStore } from "@/lib/store";
import { usePageParams } from "@/lib/usePageParams";

interface ArenaSetup {
  models: string[];
  prompt: string;
  system: string;
}

const setupStore = createPersistentStore<ArenaSetup>("mp.arena.setup", { models: [], prompt: "", system: "" });

/** A blind battle: two models drawn from the ticked ones answer; the names come after the vote. */
export function ArenaPanel() {
  const setup = useStore(setupStore);
  const { params, setParams, defaults } = usePageParams("arena");
  const [battle, setBattle] = useState<Battle | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const queries = useQueryClient();
  const patch = (p: Partial<ArenaSetup>) => setupStore.set((s) => ({ ...s, ...p }));

  async function act(work: () => Promise<Battle>) {
    setBusy(true);
    setError(null);
    try {
      setBattle(await work());
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const start = () => {
    setBattle(null);
    return act(() => startBattle(battleBody(setup.models, setup.prompt, setup.system, params)));
  };
  const vote = (winner: Winner) =>
    act(async () => {
      const voted = await voteBattle(battle!.id, winner);
      await queries.invalidateQueries({ queryKey: ["get", "/api/v1/arena/leaderboard"] });
      return voted;
    });

  return (
    <>
      <div className="grid gap-4 lg:grid-cols-[1fr_20rem]">
        <Card>
          <CardContent className="space-y-3 pt-6">
            <ModelChecklist picked={setup.models} onChange={(models) => patch({ models })} />
            <TextareaField id="arena-system" label="System prompt" rows={2} value={setup.system} onChange={(e) => patch({ system: e.target.value })} />
            <TextareaField
              id="arena-prompt"
              label="Prompt"
              rows={4}
              placeholder="Two hidden models answer; vote for the better one"
              value={setup.prompt}
              onChange={(e) => patch({ prompt: e.target.value })}
              onKeyDown={(e) => isSendKey(e) && (e.preventDefault(), !busy && canBattle(setup.models, setup.prompt) && void start())}
            />
            <Button onClick={() => void start()} disabled={busy || !canBattle(setup.models, setup.prompt)}>
              <Swords /> {busy && !battle ? "Both models are answering…" : "New battle"}
            </Button>
            <p className="text-xs text-muted-foreground">Answers arrive together once both are complete (not streamed), so speed does not give a model away.</p>
          </CardContent>
        </Card>
        <ParamsCard idPrefix="arena" value={params} onChange={setParams} defaults={defaults} className="h-fit" />
      </div>
      <ErrorAlert error={error} title="Arena failed" className="mt-4" />
      {battle && <BattleView battle={battle} voting={busy} onVote={(w) => void vote(w)} />}
    </>
  );
}
