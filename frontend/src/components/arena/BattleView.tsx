import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Markdown } from "@/components/Markdown";
import { VOTES, winnerText, type Battle, type Winner } from "@/lib/arena";
import { formatMs, formatRate } from "@/lib/format";

interface Props {
  battle: Battle;
  voting: boolean;
  onVote: (winner: Winner) => void;
}

/** The two answers as "Model A" and "Model B"; after the vote, their names and figures. */
export function BattleView({ battle, voting, onVote }: Props) {
  const vote = battle.vote;
  return (
    <div className="mt-4 space-y-4" data-testid="arena-battle">
      <div className="grid gap-4 md:grid-cols-2">
        {battle.answers.map((a) => (
          <Card key={a.label} data-testid={`arena-answer-${a.label}`} className="min-w-0">
            <CardHeader className="pb-2">
              <CardTitle className="flex items-center justify-between gap-2 text-sm">
                <span>Model {a.label}</span>
                {a.model && <Badge variant="secondary">{a.model}</Badge>}
              </CardTitle>
              {a.figures && (
                <div className="text-xs text-muted-foreground" data-testid={`arena-figures-${a.label}`}>
                  {a.figures.backend ?? "?"} · TTFT {formatMs(a.figures.ttft_ms)} · {formatRate(a.figures.tokens_per_s)} ·{" "}
                  {a.figures.tokens} tokens · {a.figures.finish_reason}
                </div>
              )}
            </CardHeader>
            <CardContent>{a.text ? <Markdown text={a.text} /> : <span className="text-sm text-muted-foreground">No output</span>}</CardContent>
          </Card>
        ))}
      </div>
      {vote ? (
        <p className="text-sm font-medium" data-testid="arena-result">
          Your vote: {winnerText(vote.winner, battle)}.
        </p>
      ) : (
        <div className="flex flex-wrap gap-2" role="group" aria-label="Vote">
          {VOTES.map((v) => (
            <Button key={v.winner} variant="outline" disabled={voting} onClick={() => onVote(v.winner)}>
              {v.label}
            </Button>
          ))}
        </div>
      )}
    </div>
  );
}
