import { useEffect, useState } from "react";
import { RotateCcw } from "lucide-react";

import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { MAX_STOP, PARAM_SPECS, formatStop, parseStop, validateParam, type SamplingParams } from "@/lib/params";

interface Props {
  value: SamplingParams;
  onChange: (next: SamplingParams) => void;
  /** Values restored by the Reset button. */
  defaults: SamplingParams;
  idPrefix?: string;
}

/** Sampling parameters with validation, seed and stop sequences, and a reset to defaults. */
export function ParamsForm({ value, onChange, defaults, idPrefix = "p" }: Props) {
  // Text drafts so a half-typed number ("0.") is not clobbered; committed when valid.
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [stopText, setStopText] = useState(formatStop(value.stop));
  const [seedText, setSeedText] = useState(value.seed === null ? "" : String(value.seed));

  // Follow outside changes (reset, settings) without clobbering what the user is typing.
  useEffect(() => {
    if (formatStop(parseStop(stopText)) !== formatStop(value.stop)) setStopText(formatStop(value.stop));
    const typedSeed = /^-?\d+$/.test(seedText.trim()) ? Number(seedText.trim()) : null;
    if (typedSeed !== value.seed) setSeedText(value.seed === null ? "" : String(value.seed));
    setDrafts((d) => {
      const next = { ...d };
      for (const spec of PARAM_SPECS) {
        if (next[spec.key] !== undefined && Number(next[spec.key]) !== value[spec.key] && validateParam(spec, Number(next[spec.key])) === null) {
          delete next[spec.key];
        }
      }
      return next;
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);

  const errors: Record<string, string | null> = {};
  for (const spec of PARAM_SPECS) {
    const draft = drafts[spec.key];
    errors[spec.key] = draft === undefined ? null : validateParam(spec, draft === "" ? NaN : Number(draft));
  }
  const stops = parseStop(stopText);
  const stopError = stops.length > MAX_STOP ? `At most ${MAX_STOP} stop sequences` : null;
  const seedError = seedText.trim() !== "" && !/^-?\d+$/.test(seedText.trim()) ? "Seed must be a whole number" : null;

  return (
    <fieldset className="space-y-3" aria-label="Parameters">
      <div className="flex items-center justify-between">
        <legend className="text-sm font-semibold">Parameters</legend>
        <Button
          type="button"
          variant="ghost"
          size="sm"
          onClick={() => {
            setDrafts({});
            onChange({ ...defaults, stop: [...defaults.stop] });
          }}
        >
          <RotateCcw /> Reset
        </Button>
      </div>
      <div className="grid grid-cols-2 gap-3">
        {PARAM_SPECS.map((spec) => {
          const id = `${idPrefix}-${spec.key}`;
          const err = errors[spec.key];
          return (
            <div key={spec.key} className="space-y-1">
              <Label htmlFor={id} title={spec.help}>
                {spec.label}
              </Label>
              <Input
                id={id}
                type="number"
                inputMode="decimal"
                min={spec.min}
                max={spec.max}
                step={spec.step}
                value={drafts[spec.key] ?? String(value[spec.key])}
                aria-invalid={!!err}
                aria-describedby={err ? `${id}-err` : undefined}
                onChange={(e) => {
                  const text = e.target.value;
                  setDrafts((d) => ({ ...d, [spec.key]: text }));
                  const n = text === "" ? NaN : Number(text);
                  if (validateParam(spec, n) === null) onChange({ ...value, [spec.key]: n });
                }}
              />
              {err && (
                <p id={`${id}-err`} className="text-xs text-destructive">
                  {err}
                </p>
              )}
            </div>
          );
        })}
        <div className="space-y-1">
          <Label htmlFor={`${idPrefix}-seed`}>Seed</Label>
          <Input
            id={`${idPrefix}-seed`}
            inputMode="numeric"
            placeholder="random"
            value={seedText}
            aria-invalid={!!seedError}
            onChange={(e) => {
              const text = e.target.value;
              setSeedText(text);
              if (text.trim() === "") onChange({ ...value, seed: null });
              else if (/^-?\d+$/.test(text.trim())) onChange({ ...value, seed: Number(text.trim()) });
            }}
          />
          {seedError && <p className="text-xs text-destructive">{seedError}</p>}
        </div>
      </div>
      <div className="space-y-1">
        <Label htmlFor={`${idPrefix}-stop`}>Stop sequences</Label>
        <Input
          id={`${idPrefix}-stop`}
          placeholder={'comma separated, e.g. ###, \\n\\n'}
          value={stopText}
          aria-invalid={!!stopError}
          onChange={(e) => {
            setStopText(e.target.value);
            const next = parseStop(e.target.value);
            if (next.length <= MAX_STOP) onChange({ ...value, stop: next });
          }}
        />
        {stopError && <p className="text-xs text-destructive">{stopError}</p>}
      </div>
    </fieldset>
  );
}

/** The parameter form in its own card, beside a page's input. */
export function ParamsCard({ className, ...props }: Props & { className?: string }) {
  return (
    <Card className={className}>
      <CardContent className="pt-6">
        <ParamsForm {...props} />
      </CardContent>
    </Card>
  );
}
