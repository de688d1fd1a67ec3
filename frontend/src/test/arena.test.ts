import { describe, expect, it } from "vitest";

import { battleBody, canBattle, formatRating, formatShare, leaderboardCells, winnerText, type Battle, type Leaderboard } from "@/lib/arena";
import { FACTORY_PARAMS } from "@/lib/params";

const battle = (models: (string | null)[]): Battle => ({
  id: "battle_1",
  created_at: 0,
  prompt: "p",
  system: null,
  params: {},
  answers: [
    { label: "A", text: "x", model: models[0], figures: null },
    { label: "B", text: "y", model: models[1], figures: null },
  ],
  vote: null,
});

describe("arena", () => {
  it("builds the battle request: distinct models, system only when given, the parameters", () => {
    const body = battleBody(["tiny", "smol", "tiny", ""], "Hi", "  ", { ...FACTORY_PARAMS, seed: 4, max_tokens: 16 });
    expect(body.models).toEqual([{ model: "tiny" }, { model: "smol" }]);
    expect(body).not.toHaveProperty("system");
    expect(body.params).toMatchObject({ seed: 4, max_tokens: 16 });
    expect(battleBody(["a", "b"], "Hi", "Be brief", FACTORY_PARAMS).system).toBe("Be brief");
  });

  it("needs two different models and a prompt", () => {
    expect(canBattle(["tiny", "tiny"], "Hi")).toBe(false);
    expect(canBattle(["tiny", "smol"], "  ")).toBe(false);
    expect(canBattle(["tiny", "smol"], "Hi")).toBe(true);
  });

  it("formats ratings with their interval and shares as percentages", () => {
    expect(formatRating({ rating: 1012.4, ci_low: 972.1, ci_high: 1047.6 })).toBe("1012 (-40/+35)");
    // One vote: no number that reads as certain, just what is missing.
    expect(formatRating({ rating: null, ci_low: null, ci_high: null, provisional: true, votes_needed: 9 })).toBe("needs 9 more votes");
    expect(formatRating({ rating: null, ci_low: null, ci_high: null, provisional: true, votes_needed: 1 })).toBe("needs 1 more vote");
    expect(formatShare(2 / 3)).toBe("67%");
    expect(formatShare(null)).toBe("–");
  });

  it("names the winner once names are revealed", () => {
    expect(winnerText("a", battle(["tiny", "smol"]))).toBe("tiny won");
    expect(winnerText("b", battle([null, null]))).toBe("B won");
    expect(winnerText("both_bad", battle(["tiny", "smol"]))).toBe("Both bad");
  });

  it("turns leaderboard rows into table cells in rank order", () => {
    const row = {
      rank: 1 as number | null,
      model: "tiny",
      provisional: false,
      votes_needed: 0,
      rating: 1100 as number | null,
      ci_low: 1050 as number | null,
      ci_high: 1150 as number | null,
      elo: 1003.6 as number | null,
      votes: 3,
      wins: 2,
      losses: 1,
      ties: 0,
      both_bad: 0,
      win_rate: 2 / 3,
      median_ttft_ms: 12.3,
      median_tokens_per_s: 250,
    };
    const board: Leaderboard = {
      ranking: "bradley_terry",
      method: "",
      total_votes: 3,
      min_votes: 3,
      sources: { battle: 3 },
      models: [
        row,
        { ...row, rank: 2, model: "smol", rating: 900, ci_low: 850, ci_high: 950, win_rate: null, median_ttft_ms: null },
        { ...row, rank: null, model: "new", provisional: true, votes_needed: 2, rating: null, ci_low: null, ci_high: null, elo: null, votes: 1 },
      ],
      matrix: { models: ["tiny", "smol", "new"], win_rates: [], battles: [] },
    };
    expect(leaderboardCells(board)).toEqual([
      ["1", "tiny", "1100 (-50/+50)", "1004", "3", "67%", "12 ms", "250.0 tok/s"],
      ["2", "smol", "900 (-50/+50)", "1004", "3", "–", "–", "250.0 tok/s"],
      ["–", "new", "needs 2 more votes", "–", "1", "67%", "12 ms", "250.0 tok/s"],
    ]);
  });
});
