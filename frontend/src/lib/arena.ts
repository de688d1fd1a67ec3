import { client, type Schemas } from "@/lib/api";
import { downloadFromApi } from "@/lib/download";
import { toApiError } from "@/lib/errors";
import { formatMs, formatRate } from "@/lib/format";
import { toRequestParams, type SamplingParams } from "@/lib/params";

export type Battle = Schemas["Battle"];
export type BattleCreate = Schemas["BattleCreate"];
export type Leaderboard = Schemas["Leaderboard"];
export type LeaderboardRow = Schemas["LeaderboardRow"];
export type Winner = Schemas["VoteCreate"]["winner"];

/** The four vote buttons, in the order shown. */
export const VOTES: { winner: Winner; label: string }[] = [
  { winner: "a", label: "A is better" },
  { winner: "b", label: "B is better" },
  { winner: "tie", label: "Tie" },
  { winner: "both_bad", label: "Both are bad" },
];

export function winnerText(winner: Winner, battle: Battle): string {
  const name = (i: number) => battle.answers[i]?.model ?? (i === 0 ? "A" : "B");
  if (winner === "a") return `${name(0)} won`;
  if (winner === "b") return `${name(1)} won`;
  return winner === "tie" ? "Tie" : "Both bad";
}

/** The request for a battle between two of ``models`` (distinct, in the order picked). */
export function battleBody(models: string[], prompt: string, system: string, params: SamplingParams): BattleCreate {
  const unique = [...new Set(models.filter(Boolean))];
  return {
    models: unique.map((model) => ({ model })),
    prompt,
    ...(system.trim() ? { system } : {}),
    params: toRequestParams(params),
  };
}

export function canBattle(models: string[], prompt: string): boolean {
  return new Set(models.filter(Boolean)).size >= 2 && prompt.trim().length > 0;
}

/**
 * "1012 (-40/+35)": the rating and how far its 95% interval reaches either side; a provisional
 * row (too few votes for a rating to mean anything) says how many votes it still needs.
 */
export function formatRating(
  r: Pick<LeaderboardRow, "rating" | "ci_low" | "ci_high"> & Partial<Pick<LeaderboardRow, "provisional" | "votes_needed">>,
): string {
  if (r.provisional || r.rating == null || r.ci_low == null || r.ci_high == null) {
    const n = r.votes_needed ?? 0;
    return `needs ${n} more ${n === 1 ? "vote" : "votes"}`;
  }
  const down = Math.round(r.rating - r.ci_low);
  const up = Math.round(r.ci_high - r.rating);
  return `${Math.round(r.rating)} (-${down}/+${up})`;
}

export function formatShare(x: number | null | undefined): string {
  return x == null ? "–" : `${Math.round(x * 100)}%`;
}

/** Leaderboard rows as table cells, best first. */
export function leaderboardCells(board: Leaderboard): string[][] {
  return board.models.map((r) => [
    r.rank == null ? "–" : String(r.rank),
    r.model,
    formatRating(r),
    r.elo == null ? "–" : String(Math.round(r.elo)),
    String(r.votes),
    formatShare(r.win_rate),
    formatMs(r.median_ttft_ms),
    formatRate(r.median_tokens_per_s),
  ]);
}

export async function startBattle(body: BattleCreate): Promise<Battle> {
  const { data, error, response } = await client.POST("/api/v1/arena/battles", { body });
  if (error || !data) throw toApiError(error, response.status);
  return data;
}

export async function voteBattle(id: string, winner: Winner): Promise<Battle> {
  const { data, error, response } = await client.POST("/api/v1/arena/battles/{battle_id}/vote", {
    params: { path: { battle_id: id } },
    body: { winner },
  });
  if (error || !data) throw toApiError(error, response.status);
  return data;
}

/** Saves the JSONL export of all votes (fetched with the session token, saved through a link). */
export async function downloadVotes(): Promise<void> {
  await downloadFromApi("/api/v1/arena/votes.jsonl", "arena-votes.jsonl");
}
