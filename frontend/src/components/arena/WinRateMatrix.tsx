import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { formatShare, type Leaderboard } from "@/lib/arena";

/** Row model's share of the decisive votes against the column model (ties left out). */
export function WinRateMatrix({ matrix }: { matrix: Leaderboard["matrix"] }) {
  if (matrix.models.length < 2) return null;
  return (
    <Table data-testid="arena-matrix" aria-label="Win-rate matrix">
      <TableHeader>
        <TableRow>
          <TableHead>Row beats column</TableHead>
          {matrix.models.map((m) => (
            <TableHead key={m} className="max-w-[10rem] truncate">
              {m}
            </TableHead>
          ))}
        </TableRow>
      </TableHeader>
      <TableBody>
        {matrix.models.map((row, i) => (
          <TableRow key={row}>
            <TableCell className="font-medium">{row}</TableCell>
            {matrix.models.map((col, j) => (
              <TableCell key={col} className="font-mono" title={`${matrix.battles[i][j]} votes`}>
                {i === j ? "" : formatShare(matrix.win_rates[i][j])}
              </TableCell>
            ))}
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}
