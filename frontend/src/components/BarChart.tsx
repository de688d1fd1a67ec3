import { chartLabels } from "@/lib/chartLabels";

/** A small horizontal bar chart (SVG, no chart library): one bar per label, cut in the middle
 * when long (distinct cut labels; the full text on hover). */
export function BarChart({
  title,
  data,
  format,
}: {
  title: string;
  data: { label: string; value: number | null }[];
  format: (v: number) => string;
}) {
  const max = Math.max(1e-9, ...data.map((d) => d.value ?? 0));
  const shown = chartLabels(data.map((d) => d.label));
  const rowH = 26;
  const labelW = 160;
  const width = 410;
  const barW = width - labelW - 70;
  return (
    <figure className="space-y-1">
      <figcaption className="text-xs font-semibold text-muted-foreground">{title}</figcaption>
      <svg
        role="img"
        aria-label={`${title}: ${data.map((d) => `${d.label} ${d.value == null ? "n/a" : format(d.value)}`).join(", ")}`}
        viewBox={`0 0 ${width} ${data.length * rowH}`}
        className="w-full max-w-md"
      >
        {data.map((d, i) => {
          const w = d.value == null ? 0 : Math.max(2, (d.value / max) * barW);
          return (
            <g key={i} transform={`translate(0, ${i * rowH})`} data-testid="chart-row">
              <title>{`${d.label}: ${d.value == null ? "n/a" : format(d.value)}`}</title>
              <text x={0} y={17} className="fill-foreground text-[11px]">
                {shown[i]}
              </text>
              <rect x={labelW} y={5} width={w} height={16} rx={3} fill={`hsl(var(--chart-${(i % 4) + 1}))`} />
              <text x={labelW + w + 6} y={17} className="fill-muted-foreground text-[11px]">
                {d.value == null ? "n/a" : format(d.value)}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
