import { useState } from "react";
import { Download } from "lucide-react";

import { ErrorAlert } from "@/components/ErrorAlert";
import { WinRateMatrix } from "@/components/arena/WinRateMatrix";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { $api } from "@/lib/api";
import { downloadVotes, leaderboardCells } from "@/lib/arena";

const COLUMNS = ["Rank", "Model", "Bradley-Terry (95% CI)", "Elo", "Votes", "Win rate", "Median TTFT", "Median speed"];

/** Ratings ranked by Bradley-Terry (as FastChat ranks), the win-rate matrix, the export. */
export function LeaderboardView() {
  const board = $api.useQuery("get", "/api/v1/arena/leaderboard");
  const [error, setError] = useState<unknown>(null);
  const data = board.data;
  return (
    <Card className="mt-4">
      <CardHeader className="flex flex-row items-center justify-between gap-2 space-y-0">
        <CardTitle className="text-base">Leaderboard{data ? ` · ${data.total_votes} ${data.total_votes === 1 ? "vote" : "votes"}` : ""}</CardTitle>
        <Button variant="outline" size="sm" onClick={() => downloadVotes().catch(setError)}>
          <Download /> Export votes
        </Button>
      </CardHeader>
      <CardContent className="space-y-4">
        <ErrorAlert error={board.error ?? error} title="Leaderboard failed" />
        {data && data.models.length === 0 && <p className="text-sm text-muted-foreground">No votes yet: run a blind battle and vote.</p>}
        {data && data.models.length > 0 && (
          <>
            <Table data-testid="arena-leaderboard">
              <TableHeader>
                <TableRow>
                  {COLUMNS.map((c) => (
                    <TableHead key={c}>{c}</TableHead>
                  ))}
                </TableRow>
              </TableHeader>
              <TableBody>
                {leaderboardCells(data).map((cells) => (
                  <TableRow key={cells[1]}>
                    {cells.map((c, i) => (
                      <TableCell key={i} className={i === 1 ? "font-medium" : c.startsWith("needs ") ? "text-muted-foreground" : "font-mono"}>
                        {c}
                      </TableCell>
                    ))}
                  </TableRow>
                ))}
              </TableBody>
            </Table>
            <WinRateMatrix matrix={data.matrix} />
            <p className="text-xs text-muted-foreground">
              Ranked by Bradley-Terry rating, as FastChat's leaderboard is. {data.method} A model's rating, Elo and rank
              appear once it has {data.min_votes} votes; until then its row says how many it still needs. With few votes
              the 95% intervals stay wide: ratings whose intervals overlap share a rank.
            </p>
          </>
        )}
      </CardContent>
    </Card>
  );
}
