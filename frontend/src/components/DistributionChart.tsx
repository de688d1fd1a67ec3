import { chartLabels } from "@/lib/chartLabels";
import { quantile, type Distribution } from "@/lib/promptRuns";

/**
 * A strip plot (SVG, no chart library, styled like BarChart): one row per label, a dot per value
 * on a shared axis from 0, the 25-75% range as a band and the median as a tick. The axis ends a
 * little past the largest 90th percentile, so one outlier does not squash the rest; values past
 * it sit on the edge as open circles.
 */
export function DistributionChart({
  title,
  data,
  format,
}: {
  title: string;
  data: Distribution[];
  format: (v: number) => string;
}) {
  const top = Math.max(1e-9, ...data.flatMap((d) => d.values));
  const p90 = Math.max(1e-9, ...data.map((d) => quantile(d.values, 0.9) ?? 0));
  const max = Math.min(top, p90 * 1.25);
  const shown = chartLabels(data.map((d) => d.label));
  const rowH = 30;
  const labelW = 160;
  const width = 410;
  const plotW = width - labelW - 70;
  const x = (v: number) => labelW + (Math.min(v, max) / max) * plotW;
  const summary = data
    .map((d) => {
      const median = quantile(d.values, 0.5);
      return `${d.label} median ${median == null ? "n/a" : format(median)} over ${d.values.length}`;
    })
    .join(", ");
  return (
    <figure className="space-y-1">
      <figcaption className="text-xs font-semibold text-muted-foreground">{title}</figcaption>
      <svg role="img" aria-label={`${title}: ${summary}`} viewBox={`0 0 ${width} ${data.length * rowH + 14}`} className="w-full max-w-md">
        {data.map((d, i) => {
          const median = quantile(d.values, 0.5);
          const q1 = quantile(d.values, 0.25);
          const q3 = quantile(d.values, 0.75);
          const color = `hsl(var(--chart-${(i % 4) + 1}))`;
          return (
            <g key={d.label} transform={`translate(0, ${i * rowH})`} data-testid="chart-row">
              <title>{`${d.label}: median ${median == null ? "n/a" : format(median)} over ${d.values.length}`}</title>
              <text x={0} y={19} className="fill-foreground text-[11px]">
                {shown[i]}
              </text>
              {q1 != null && q3 != null && (
                <rect x={x(q1)} y={8} width={Math.max(1, x(q3) - x(q1))} height={14} rx={2} fill={color} opacity={0.2} />
              )}
              {d.values.map((v, j) => (
                <circle key={j} cx={x(v)} cy={15} r={2.5} opacity={0.75}
                  fill={v > max ? "none" : color} stroke={v > max ? color : "none"} />
              ))}
              {median != null && <line x1={x(median)} x2={x(median)} y1={5} y2={25} stroke={color} strokeWidth={2} />}
              <text x={labelW + plotW + 6} y={19} className="fill-muted-foreground text-[11px]">
                {median == null ? "n/a" : format(median)}
              </text>
            </g>
          );
        })}
        <text x={labelW} y={data.length * rowH + 10} className="fill-muted-foreground text-[10px]">0</text>
        <text x={labelW + plotW} y={data.length * rowH + 10} textAnchor="end" className="fill-muted-foreground text-[10px]">
          {max < top ? `${format(max)}+` : format(max)}
        </text>
      </svg>
    </figure>
  );
}
