/** A small horizontal bar chart (SVG, no chart library): one bar per label. */
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
  const rowH = 26;
  const labelW = 120;
  const width = 360;
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
            <g key={i} transform={`translate(0, ${i * rowH})`}>
              <text x={0} y={17} className="fill-foreground text-[11px]">
                {d.label.length > 18 ? `${d.label.slice(0, 17)}…` : d.label}
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
